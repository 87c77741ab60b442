import ArgumentParser
import CachetteServer
import Foundation

/// `--config`, shared by the commands that read the config file.
struct ConfigFileOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "YAML config file (default: $CACHETTE_CONFIG, else $XDG_CONFIG_HOME/cachette/cachette.yaml or ~/.config/cachette/cachette.yaml, else /etc/cachette/cachette.yaml, else built-in defaults).",
            valueName: "file"))
    var config: String?

    var path: String? { ConfigLoader.configFile(explicit: config) }

    /// Loads the config or stops with the one-line error.
    func load(_ overrides: ConfigLoader.Overrides = .init()) throws -> CachetteConfig {
        do {
            return try ConfigLoader.load(file: path, overrides: overrides)
        } catch {
            FileHandle.standardError.write(Data("cachette: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

import ArgumentParser
import CachetteServer
import Foundation

/// `--config`, shared by the commands that read the config file.
struct ConfigFileOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("YAML config file (default: $CACHETTE_CONFIG, else built-in defaults).", valueName: "file"))
    var config: String?

    var path: String? {
        config ?? ProcessInfo.processInfo.environment["CACHETTE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    }

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

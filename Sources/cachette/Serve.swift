import ArgumentParser
import CachetteServer
import Foundation
import Hummingbird
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the sidecar.",
        discussion: """
            Settings come from the config file, then CACHETTE_HOST, CACHETTE_PORT, CACHETTE_UPSTREAM, \
            CACHETTE_DB and CACHETTE_SHARED_URL, then these flags. See config/cachette.yaml for every setting.
            """
    )

    @OptionGroup var file: ConfigFileOption
    @Option(help: ArgumentHelp("Address to bind (default 127.0.0.1; env CACHETTE_HOST).", valueName: "host"))
    var host: String?
    @Option(help: ArgumentHelp("Port to listen on (default 8766; env CACHETTE_PORT).", valueName: "port"))
    var port: Int?
    @Option(
        help: ArgumentHelp(
            "The one upstream, in place of the config's: a base URL ending in /v1, or FORMAT=URL for another format, as anthropic=https://api.anthropic.com/v1 (default https://api.openai.com/v1; env CACHETTE_UPSTREAM).",
            valueName: "url"))
    var upstream: String?
    @Option(help: ArgumentHelp("Cache database file (default ~/.cache/cachette/cachette.sqlite; env CACHETTE_DB).", valueName: "path"))
    var db: String?
    @Flag(help: "Never call an upstream: answer from the cache only, a miss is a 503 (cache.mode: offline).")
    var offline = false
    @Option(
        help: ArgumentHelp(
            "PostgreSQL URL of the cache tier replicas share (shared.url; env CACHETTE_SHARED_URL, which keeps the password out of ps).",
            valueName: "url"))
    var shared: String?

    func run() async throws {
        let config = try file.load(.init(host: host, port: port, upstream: upstream, database: db, offline: offline, shared: shared))
        let level = config.logging.level
        LoggingSystem.bootstrap { DeferredMetadataLogHandler(label: $0, level: level) }
        let app: any ApplicationProtocol
        do {
            app = try CachetteApplication.build(config: config)
        } catch {
            FileHandle.standardError.write(Data("cachette: cannot start: \(error)\n".utf8))
            throw ExitCode(1)
        }
        try await app.runService()
    }
}

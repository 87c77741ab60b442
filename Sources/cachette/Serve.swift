import ArgumentParser
import CachetteServer
import Foundation
import Hummingbird
import Logging
import NIOCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the sidecar.",
        discussion: """
            Settings come from the config file, then CACHETTE_HOST, CACHETTE_PORT, CACHETTE_UPSTREAM, \
            CACHETTE_DB and CACHETTE_SHARED_URL, then these flags. See config/cachette.yaml for every setting.

            The provider's prompt cache: prompt_cache.openai (auto sets a prompt_cache_key on long OpenAI \
            requests that carry none) and prompt_cache.anthropic (auto adds cache_control breakpoints to \
            Anthropic requests that carry none, where a read is expected to repay the write), with \
            prompt_cache.max_prefixes, prompt_cache.minimum_tokens and prompt_cache.minimum_margin_percent. \
            Per request: the header x-cachette-prompt-cache: auto|off.

            Traces: telemetry.otlp_endpoint (a collector's OTLP/HTTP base URL) or OTEL_EXPORTER_OTLP_ENDPOINT \
            turns on OpenTelemetry spans for the cached routes; OTEL_SERVICE_NAME (telemetry.service_name) \
            names them; OTEL_SDK_DISABLED=true turns them off. Off by default.

            POST /v1/compress serves LiteLLM's headroom guardrail at compression.level (or the request's level).
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
    @Option(
        help: ArgumentHelp(
            "Cache database file (default $XDG_DATA_HOME/cachette/cachette.sqlite or ~/.local/share/cachette/cachette.sqlite, or an existing ~/.cache/cachette/cachette.sqlite; env CACHETTE_DB).",
            valueName: "path"))
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
        do {
            try await app.runService()
        } catch let error as IOError where [EADDRINUSE, EACCES, EADDRNOTAVAIL].contains(error.errnoCode) {
            let address = "\(config.server.host):\(config.server.port)"
            let why =
                switch error.errnoCode {
                case EADDRINUSE: "the port is in use by another process; stop it, or choose another port with --port or server.port"
                case EACCES: "ports below 1024 need root; choose another with --port or server.port"
                default: "that address is not one of this machine's; set --host or server.host"
                }
            FileHandle.standardError.write(Data("cachette: cannot listen on \(address): \(why)\n".utf8))
            throw ExitCode(1)
        }
    }
}

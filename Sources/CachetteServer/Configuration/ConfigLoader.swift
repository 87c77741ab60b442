import CachetteCore
import Foundation
import Logging
import Yams

/// Builds the effective configuration: defaults, then the YAML file, then
/// `CACHETTE_*` environment variables, then command-line flags.
package enum ConfigLoader {
    /// Values given on the command line; nil means "not given".
    package struct Overrides: Sendable {
        package var host: String?
        package var port: Int?
        package var upstream: String?
        package var database: String?
        /// `--offline`: `cache.mode: offline`.
        package var offline: Bool
        /// `--shared`: `shared.url`.
        package var shared: String?

        package init(
            host: String? = nil, port: Int? = nil, upstream: String? = nil, database: String? = nil, offline: Bool = false, shared: String? = nil
        ) {
            self.host = host
            self.port = port
            self.upstream = upstream
            self.database = database
            self.offline = offline
            self.shared = shared
        }
    }

    /// The config file to read: `--config`, else `CACHETTE_CONFIG`, else the first that
    /// exists of `$XDG_CONFIG_HOME/cachette/cachette.yaml` (`~/.config/...`) and
    /// `/etc/cachette/cachette.yaml`; nil for the built-in defaults. Empty values count as unset.
    package static func configFile(
        explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) -> String? {
        func value(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        if let named = value(explicit) ?? value(environment["CACHETTE_CONFIG"]) { return named }
        let user = (value(environment["XDG_CONFIG_HOME"]) ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.config") + "/cachette/cachette.yaml"
        return [user, "/etc/cachette/cachette.yaml"].first(where: exists)
    }

    package static func load(
        file: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        overrides: Overrides = Overrides()
    ) throws(ConfigError) -> CachetteConfig {
        var config = CachetteConfig()
        config.cache.path = CachetteConfig.defaultDatabasePath(environment: environment)
        if let file {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ConfigError(file, "cannot read the config file")
            }
            try apply(
                yaml: text, to: &config, environment: environment, directory: URL(fileURLWithPath: file).deletingLastPathComponent().path,
                source: file)
        }
        try applyEnvironment(environment, to: &config)
        try applyOverrides(overrides, to: &config)
        try validate(config)
        return config
    }

    // MARK: YAML

    /// - Parameters:
    ///   - directory: where relative paths in the file (`pricing.file`) start.
    ///   - source: the file's path, named when it is not YAML.
    package static func apply(
        yaml: String, to config: inout CachetteConfig, environment: [String: String] = [:], directory: String = ".",
        source: String = "(file)"
    ) throws(ConfigError) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(source, "not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let root else { return }  // an empty file keeps every default
        let sections = try mapping(root, "(top level)")
        for (name, node) in sections {
            switch name {
            case "server": try applyServer(node, &config.server)
            case "upstream": try applyUpstream(node, &config.upstream, environment)
            case "upstreams": config.upstreams = try upstreams(node, environment)
            case "cache": try applyCache(node, &config.cache)
            case "shared": try applyShared(node, &config.shared, environment)
            case "stream": try applyStream(node, &config.stream)
            case "compression": try applyCompression(node, &config.compression)
            case "prompt_cache": try applyPromptCache(node, &config.promptCache)
            case "pricing": try applyPricing(node, &config.accounting, directory: directory)
            case "ledger": try applyLedger(node, &config.accounting)
            case "accounting": try applyAccounting(node, &config.accounting)
            case "logging": try applyLogging(node, &config.logging)
            case "telemetry": try applyTelemetry(node, &config.telemetry)
            default:
                let near = nearest(name, among: sectionNames).map { "did you mean \($0)? " } ?? ""
                throw ConfigError(name, "unknown section (\(near)expected \(sectionNames.joined(separator: ", ")))")
            }
        }
    }

    // MARK: Environment and flags

    static func applyEnvironment(_ env: [String: String], to config: inout CachetteConfig) throws(ConfigError) {
        if let host = env["CACHETTE_HOST"], !host.isEmpty { config.server.host = host }
        if let port = env["CACHETTE_PORT"], !port.isEmpty { config.server.port = try self.port(port, "CACHETTE_PORT") }
        // One upstream for everything, in place of any routing table.
        if let upstream = env["CACHETTE_UPSTREAM"], !upstream.isEmpty { try useOnly(upstream, "CACHETTE_UPSTREAM", &config) }
        if let db = env["CACHETTE_DB"], !db.isEmpty { config.cache.path = expandHome(db) }
        if let file = env["SSL_CERT_FILE"], !file.isEmpty { config.upstream.environmentRootsFile = file }
        if let directory = env["SSL_CERT_DIR"], !directory.isEmpty { config.upstream.environmentRootsDirectory = directory }
        config.upstream.environmentProxy = try EnvironmentProxy(env)
        if let url = env["CACHETTE_SHARED_URL"], !url.isEmpty { config.shared.url = try sharedURL(url, "CACHETTE_SHARED_URL") }
        try applyTelemetryEnvironment(env, to: &config.telemetry)
    }

    static func applyOverrides(_ o: Overrides, to config: inout CachetteConfig) throws(ConfigError) {
        if let host = o.host { config.server.host = host }
        if let port = o.port {
            guard (0...65535).contains(port) else { throw ConfigError("--port", "must be between 0 and 65535, got \(port)") }
            config.server.port = port
        }
        if let upstream = o.upstream { try useOnly(upstream, "--upstream", &config) }
        if let database = o.database { config.cache.path = expandHome(database) }
        if o.offline { config.cache.mode = .offline }
        if let url = o.shared { config.shared.url = try sharedURL(url, "--shared") }
    }

    /// One upstream for everything, in place of any routing table: `URL`, or
    /// `FORMAT=URL` (`openai=…`, `anthropic=…`) for an upstream in that format.
    static func useOnly(_ text: String, _ key: String, _ config: inout CachetteConfig) throws(ConfigError) {
        var url = text
        var format = APIFormat.openai
        if let equals = text.firstIndex(of: "="), !text[..<equals].contains(":") {
            guard let named = APIFormat(rawValue: String(text[..<equals]).lowercased()) else {
                throw ConfigError(key, "expected URL or FORMAT=URL with FORMAT one of \(APIFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            format = named
            url = String(text[text.index(after: equals)...])
        }
        try checkURL(url, key)
        config.upstream.baseURL = url
        config.upstreams =
            format == .openai ? [] : [CachetteConfig.Upstream(name: "default", baseURL: url, format: format, apiKey: config.upstream.apiKey)]
    }

    package static func validate(_ config: CachetteConfig) throws(ConfigError) {
        guard !config.server.host.isEmpty else { throw ConfigError("server.host", "must not be empty") }
        try checkURL(config.upstream.baseURL, "upstream.base_url")
        guard config.server.maxBodyBytes > 0 else { throw ConfigError("server.max_body_bytes", "must be greater than zero") }
        guard config.cache.ttl > .zero else { throw ConfigError("cache.ttl", "must be greater than zero") }
        guard config.cache.ttl <= config.cache.maxTTL else {
            throw ConfigError("cache.ttl", "must not be longer than cache.max_ttl (\(ConfigValues.format(config.cache.maxTTL)))")
        }
        guard config.cache.enabled || config.cache.mode == .online else {
            throw ConfigError("cache.mode", "offline serves only from the cache, which cache.enabled: false turns off")
        }
        guard config.cache.maxBytes > 0 else { throw ConfigError("cache.max_bytes", "must be greater than zero") }
        guard config.shared.url == nil || config.cache.enabled else {
            throw ConfigError("shared.url", "the shared tier sits behind the local cache, which cache.enabled: false turns off")
        }
        guard config.shared.timeout > .zero else { throw ConfigError("shared.timeout", "must be greater than zero") }
        guard config.shared.pruneInterval > .zero else { throw ConfigError("shared.prune_interval", "must be greater than zero") }
        // One connection listens for finished flights; queries need at least one more.
        guard config.shared.poolSize >= 2 else { throw ConfigError("shared.pool_size", "must be at least 2") }
        // Below one event's size every stream would be cut at its first chunk.
        guard config.stream.maxBufferedBytes >= 64 << 10 else { throw ConfigError("stream.max_buffered_bytes", "must be at least 64KiB") }
        guard config.compression.maxToolOutputTokens >= CompressionOptions.minimumToolOutputTokens else {
            throw ConfigError("compression.max_tool_output_tokens", "must be at least \(CompressionOptions.minimumToolOutputTokens)")
        }
        guard !config.cache.path.isEmpty else { throw ConfigError("cache.path", "must not be empty") }
        guard config.upstream.timeout > .zero else { throw ConfigError("upstream.timeout", "must be greater than zero") }
        guard config.upstream.connectTimeout > .zero else { throw ConfigError("upstream.connect_timeout", "must be greater than zero") }
        guard config.upstream.idleTimeout > .zero else { throw ConfigError("upstream.idle_timeout", "must be greater than zero") }
        guard config.server.readTimeout > .zero else { throw ConfigError("server.read_timeout", "must be greater than zero") }
        guard config.server.idleTimeout > .zero else { throw ConfigError("server.idle_timeout", "must be greater than zero") }
        guard config.server.maxPassthroughBytes > 0 else { throw ConfigError("server.max_passthrough_bytes", "must be greater than zero") }
        // Recorded streams index their events with 32-bit offsets.
        guard config.stream.maxBufferedBytes <= 1 << 30 else { throw ConfigError("stream.max_buffered_bytes", "must be at most 1GiB") }
    }
}

import CachetteCore
import Foundation
import Logging
import Yams

/// Builds the effective configuration: defaults, then the YAML file, then
/// `CACHETTE_*` environment variables, then command-line flags.
public enum ConfigLoader {
    /// Values given on the command line; nil means "not given".
    public struct Overrides: Sendable {
        public var host: String?
        public var port: Int?
        public var upstream: String?
        public var database: String?

        public init(host: String? = nil, port: Int? = nil, upstream: String? = nil, database: String? = nil) {
            self.host = host
            self.port = port
            self.upstream = upstream
            self.database = database
        }
    }

    public static func load(
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
            try apply(yaml: text, to: &config, environment: environment, directory: URL(fileURLWithPath: file).deletingLastPathComponent().path)
        }
        try applyEnvironment(environment, to: &config)
        try applyOverrides(overrides, to: &config)
        try validate(config)
        return config
    }

    // MARK: YAML

    /// - Parameter directory: where relative paths in the file (`pricing.file`) start.
    public static func apply(
        yaml: String, to config: inout CachetteConfig, environment: [String: String] = [:], directory: String = "."
    ) throws(ConfigError) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError("(file)", "not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let root else { return }  // an empty file keeps every default
        let sections = try mapping(root, "(top level)")
        for (name, node) in sections {
            switch name {
            case "server": try applyServer(node, &config.server)
            case "upstream": try applyUpstream(node, &config.upstream, environment)
            case "upstreams": config.upstreams = try routes(node, environment)
            case "cache": try applyCache(node, &config.cache)
            case "stream": try applyStream(node, &config.stream)
            case "compression": try applyCompression(node, &config.compression)
            case "pricing": try applyPricing(node, &config.accounting, directory: directory)
            case "ledger": try applyLedger(node, &config.accounting)
            case "accounting": try applyAccounting(node, &config.accounting)
            case "logging": try applyLogging(node, &config.logging)
            default:
                throw ConfigError(
                    name, "unknown section (expected server, upstream, upstreams, cache, stream, compression, pricing, ledger, accounting or logging)"
                )
            }
        }
    }

    private static func applyServer(_ node: Node, _ server: inout CachetteConfig.Server) throws(ConfigError) {
        for (name, value) in try mapping(node, "server") {
            let key = "server.\(name)"
            switch name {
            case "host": server.host = try string(value, key)
            case "port": server.port = try port(scalar(value, key), key)
            case "max_body_bytes": server.maxBodyBytes = try size(value, key)
            case "max_passthrough_bytes": server.maxPassthroughBytes = try size(value, key)
            case "allowed_hosts": server.allowedHosts = try strings(value, key)
            case "allowed_origins":
                server.allowedOrigins = try strings(value, key)
                for origin in server.allowedOrigins where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) {
                    throw ConfigError(key, "expected origins such as https://app.example, got \"\(origin)\"")
                }
            case "read_timeout": server.readTimeout = try duration(value, key)
            case "idle_timeout": server.idleTimeout = try duration(value, key)
            case "max_connections": server.maxConnections = try positiveInt(value, key)
            default: throw unknown(key)
            }
        }
    }

    private static func applyUpstream(_ node: Node, _ upstream: inout CachetteConfig.UpstreamSettings, _ env: [String: String]) throws(ConfigError) {
        for (name, value) in try mapping(node, "upstream") {
            let key = "upstream.\(name)"
            switch name {
            case "base_url": upstream.baseURL = try string(value, key)
            case "api_key": upstream.apiKey = try secret(string(value, key), key, env)
            case "timeout": upstream.timeout = try duration(value, key)
            case "idle_timeout": upstream.idleTimeout = try duration(value, key)
            case "connect_timeout": upstream.connectTimeout = try duration(value, key)
            case "max_connections": upstream.maxConnections = try positiveInt(value, key)
            case "max_response_bytes": upstream.maxResponseBytes = try size(value, key)
            default: throw unknown(key)
            }
        }
    }

    /// `upstreams:`, a list of routes tried in order.
    private static func routes(_ node: Node, _ env: [String: String]) throws(ConfigError) -> [CachetteConfig.Upstream] {
        guard case .sequence(let items) = node else { throw ConfigError("upstreams", "expected a list of upstreams") }
        var routes: [CachetteConfig.Upstream] = []
        for (index, item) in items.enumerated() {
            let members = try mapping(item, "upstreams[\(index)]")
            guard let nameNode = members.first(where: { $0.0 == "name" })?.1 else { throw ConfigError("upstreams[\(index)]", "needs a name") }
            let name = try string(nameNode, "upstreams[\(index)].name")
            guard !routes.contains(where: { $0.name == name }) else { throw ConfigError("upstreams.\(name)", "is listed twice") }
            var route = CachetteConfig.Upstream(name: name, baseURL: "")
            for (field, value) in members {
                let key = "upstreams.\(name).\(field)"
                switch field {
                case "name": break
                case "base_url": route.baseURL = try string(value, key)
                case "format": route.format = try choice(value, key)
                case "models": route.models = try strings(value, key)
                case "api_key": route.apiKey = try secret(string(value, key), key, env)
                case "timeout": route.timeout = try duration(value, key)
                case "headers":
                    for (header, headerValue) in try mapping(value, key) {
                        route.headers.append(.init(name: header, value: try string(headerValue, "\(key).\(header)")))
                    }
                default: throw unknown(key)
                }
            }
            if route.isDefault, !route.models.isEmpty {
                throw ConfigError("upstreams.default.models", "the default upstream takes every model; remove models")
            }
            if !route.isDefault, route.models.isEmpty { throw ConfigError("upstreams.\(name).models", "needs at least one model pattern") }
            try checkURL(route.baseURL, "upstreams.\(name).base_url")
            routes.append(route)
        }
        return routes
    }

    private static func strings(_ node: Node, _ key: String) throws(ConfigError) -> [String] {
        if case .scalar = node { return [try string(node, key)] }
        guard case .sequence(let items) = node else { throw ConfigError(key, "expected a list") }
        var out: [String] = []
        for item in items { out.append(try string(item, key)) }
        return out
    }

    private static func applyCache(_ node: Node, _ cache: inout CachetteConfig.Cache) throws(ConfigError) {
        for (name, value) in try mapping(node, "cache") {
            let key = "cache.\(name)"
            switch name {
            case "enabled": cache.enabled = try bool(value, key)
            case "path": cache.path = expandHome(try string(value, key))
            case "ttl": cache.ttl = try duration(value, key)
            case "max_bytes": cache.maxBytes = try size(value, key)
            case "memory_bytes": cache.memoryBytes = try size(value, key)
            case "scope": cache.scope = try choice(value, key)
            case "key_fields": cache.keyFields = try choice(value, key)
            case "compression_level":
                let level = try positiveInt(value, key)
                guard (1...19).contains(level) else { throw ConfigError(key, "must be between 1 and 19, got \(level)") }
                cache.compressionLevel = level
            case "credential_headers": cache.credentialHeaders = try strings(value, key).map { $0.lowercased() }
            case "stale_if_error": cache.staleIfError = try duration(value, key)
            default: throw unknown(key)
            }
        }
    }

    private static func applyStream(_ node: Node, _ stream: inout CachetteConfig.Stream) throws(ConfigError) {
        for (name, value) in try mapping(node, "stream") {
            let key = "stream.\(name)"
            switch name {
            case "finish_on_disconnect": stream.finishOnDisconnect = try bool(value, key)
            case "max_buffered_bytes": stream.maxBufferedBytes = try size(value, key)
            default: throw unknown(key)
            }
        }
    }

    private static func applyCompression(_ node: Node, _ compression: inout CompressionOptions) throws(ConfigError) {
        for (name, value) in try mapping(node, "compression") {
            let key = "compression.\(name)"
            switch name {
            case "level": compression.level = try choice(value, key)
            case "dedup_min_tokens": compression.dedupMinTokens = try positiveInt(value, key)
            case "system": compression.system = try bool(value, key)
            case "max_tool_output_tokens": compression.maxToolOutputTokens = try positiveInt(value, key)
            default: throw unknown(key)
            }
        }
    }

    /// `file` replaces the shipped price table; `models` then overrides single entries.
    private static func applyPricing(_ node: Node, _ accounting: inout CachetteConfig.Accounting, directory: String) throws(ConfigError) {
        let members = try mapping(node, "pricing")
        if let (_, fileNode) = members.first(where: { $0.0 == "file" }) {
            var path = expandHome(try string(fileNode, "pricing.file"))
            if !path.hasPrefix("/") { path = directory + "/" + path }
            accounting.prices = PriceTable(try priceFile(path, key: "pricing.file"))
        }
        for (name, value) in members where name != "file" {
            guard name == "models" else { throw unknown("pricing.\(name)") }
            accounting.prices.merge(try prices(value, "pricing.models"))
        }
    }

    private static func applyLedger(_ node: Node, _ accounting: inout CachetteConfig.Accounting) throws(ConfigError) {
        for (name, value) in try mapping(node, "ledger") {
            switch name {
            case "retention": accounting.ledgerRetention = try duration(value, "ledger.\(name)")
            default: throw unknown("ledger.\(name)")
            }
        }
    }

    private static func applyAccounting(_ node: Node, _ accounting: inout CachetteConfig.Accounting) throws(ConfigError) {
        for (name, value) in try mapping(node, "accounting") {
            switch name {
            case "max_models": accounting.maxModels = try positiveInt(value, "accounting.\(name)")
            default: throw unknown("accounting.\(name)")
            }
        }
    }

    /// A pricing file: `models:` mapping names or patterns to `{input, output, cached_input, cache_write}`.
    static func priceFile(_ path: String, key: String) throws(ConfigError) -> [String: ModelPrice] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(key, "cannot read \(path)")
        }
        return try priceYAML(text, key: key)
    }

    static func priceYAML(_ text: String, key: String) throws(ConfigError) -> [String: ModelPrice] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError(key, "not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let root else { return [:] }
        var table: [String: ModelPrice] = [:]
        for (name, value) in try mapping(root, key) {
            guard name == "models" else { throw ConfigError("\(key): \(name)", "unknown setting (expected models)") }
            table.merge(try prices(value, "\(key): models")) { $1 }
        }
        return table
    }

    private static func prices(_ node: Node, _ key: String) throws(ConfigError) -> [String: ModelPrice] {
        var table: [String: ModelPrice] = [:]
        for (model, entry) in try mapping(node, key) {
            let entryKey = "\(key).\(model)"
            var input: Double?, output: Double?, cached: Double?, written: Double?
            for (field, value) in try mapping(entry, entryKey) {
                let text = try scalar(value, "\(entryKey).\(field)")
                guard let number = Double(text), number >= 0, number.isFinite else {
                    throw ConfigError("\(entryKey).\(field)", "expected a price in dollars per million tokens, got \"\(text)\"")
                }
                switch field {
                case "input": input = number
                case "output": output = number
                case "cached_input": cached = number
                case "cache_write": written = number
                default: throw unknown("\(entryKey).\(field)")
                }
            }
            guard let input, let output else { throw ConfigError(entryKey, "needs both input and output prices") }
            table[model] = ModelPrice(input: input, output: output, cachedInput: cached, cacheWrite: written)
        }
        return table
    }

    private static func applyLogging(_ node: Node, _ logging: inout CachetteConfig.Logging) throws(ConfigError) {
        for (name, value) in try mapping(node, "logging") {
            let key = "logging.\(name)"
            switch name {
            case "level":
                let text = try string(value, key)
                guard let level = Logger.Level(rawValue: text) else {
                    throw ConfigError(key, "expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
                }
                logging.level = level
            default: throw unknown(key)
            }
        }
    }

    // MARK: Environment and flags

    static func applyEnvironment(_ env: [String: String], to config: inout CachetteConfig) throws(ConfigError) {
        if let host = env["CACHETTE_HOST"], !host.isEmpty { config.server.host = host }
        if let port = env["CACHETTE_PORT"], !port.isEmpty { config.server.port = try self.port(port, "CACHETTE_PORT") }
        // One upstream for everything, in place of any routing table.
        if let upstream = env["CACHETTE_UPSTREAM"], !upstream.isEmpty {
            config.upstream.baseURL = upstream
            config.upstreams = []
        }
        if let db = env["CACHETTE_DB"], !db.isEmpty { config.cache.path = expandHome(db) }
    }

    static func applyOverrides(_ o: Overrides, to config: inout CachetteConfig) throws(ConfigError) {
        if let host = o.host { config.server.host = host }
        if let port = o.port {
            guard (0...65535).contains(port) else { throw ConfigError("--port", "must be between 0 and 65535, got \(port)") }
            config.server.port = port
        }
        if let upstream = o.upstream {
            config.upstream.baseURL = upstream
            config.upstreams = []
        }
        if let database = o.database { config.cache.path = expandHome(database) }
    }

    public static func validate(_ config: CachetteConfig) throws(ConfigError) {
        guard !config.server.host.isEmpty else { throw ConfigError("server.host", "must not be empty") }
        try checkURL(config.upstream.baseURL, "upstream.base_url")
        guard config.server.maxBodyBytes > 0 else { throw ConfigError("server.max_body_bytes", "must be greater than zero") }
        guard config.cache.ttl > .zero else { throw ConfigError("cache.ttl", "must be greater than zero") }
        guard config.cache.maxBytes > 0 else { throw ConfigError("cache.max_bytes", "must be greater than zero") }
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

    // MARK: Value helpers

    private static func mapping(_ node: Node, _ key: String) throws(ConfigError) -> [(String, Node)] {
        guard case .mapping(let mapping) = node else { throw ConfigError(key, "expected a mapping of settings") }
        var pairs: [(String, Node)] = []
        for (k, v) in mapping {
            guard let name = k.string else { throw ConfigError(key, "keys must be plain names") }
            pairs.append((name, v))
        }
        return pairs
    }

    private static func scalar(_ node: Node, _ key: String) throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw ConfigError(key, "expected a single value") }
        return scalar.string
    }

    private static func string(_ node: Node, _ key: String) throws(ConfigError) -> String {
        try scalar(node, key)
    }

    private static func checkURL(_ text: String, _ key: String) throws(ConfigError) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host?.isEmpty == false
        else {
            throw ConfigError(key, "expected an http:// or https:// URL, got \"\(text)\"")
        }
    }

    private static func bool(_ node: Node, _ key: String) throws(ConfigError) -> Bool {
        guard let b = node.bool else { throw ConfigError(key, "expected true or false, got \"\(try scalar(node, key))\"") }
        return b
    }

    private static func positiveInt(_ node: Node, _ key: String) throws(ConfigError) -> Int {
        let text = try scalar(node, key)
        guard let value = Int(text), value > 0 else { throw ConfigError(key, "expected a positive whole number, got \"\(text)\"") }
        return value
    }

    private static func port(_ text: String, _ key: String) throws(ConfigError) -> Int {
        guard let value = Int(text), (0...65535).contains(value) else {
            throw ConfigError(key, "expected a port number between 0 and 65535, got \"\(text)\"")
        }
        return value
    }

    private static func duration(_ node: Node, _ key: String) throws(ConfigError) -> Duration {
        let text = try scalar(node, key)
        guard let d = ConfigValues.duration(text) else {
            throw ConfigError(key, "expected a duration such as 30s, 15m, 24h or 7d, got \"\(text)\"")
        }
        return d
    }

    private static func size(_ node: Node, _ key: String) throws(ConfigError) -> Int {
        let text = try scalar(node, key)
        guard let s = ConfigValues.byteSize(text) else {
            throw ConfigError(key, "expected a size such as 10MiB, 1GiB or 1048576, got \"\(text)\"")
        }
        return s
    }

    private static func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ key: String) throws(ConfigError) -> T
    where T.RawValue == String {
        let text = try scalar(node, key)
        guard let value = T(rawValue: text) else {
            throw ConfigError(key, "expected one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
        }
        return value
    }

    /// `env:NAME` reads the secret from the environment so it need not sit in the file.
    private static func secret(_ text: String, _ key: String, _ env: [String: String]) throws(ConfigError) -> String? {
        if text.isEmpty { return nil }
        guard text.hasPrefix("env:") else { return text }
        let name = String(text.dropFirst(4))
        guard let value = env[name], !value.isEmpty else {
            throw ConfigError(key, "environment variable \(name) is not set")
        }
        return value
    }

    private static func unknown(_ key: String) -> ConfigError {
        ConfigError(key, "unknown setting")
    }

    static func expandHome(_ path: String) -> String {
        guard path.hasPrefix("~/") else { return path }
        return (ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) + String(path.dropFirst())
    }
}

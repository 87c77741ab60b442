import CachetteCore
import CachetteShared
import Foundation
import Logging
import Yams

/// Each section of the YAML file, read into its part of the configuration.
extension ConfigLoader {
    static func applyServer(_ node: Node, _ server: inout CachetteConfig.Server) throws(ConfigError) {
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
            case "fast_lane": server.fastLane = try bool(value, key)
            default: throw unknown(key)
            }
        }
    }

    static func strings(_ node: Node, _ key: String) throws(ConfigError) -> [String] {
        if case .scalar = node { return [try string(node, key)] }
        guard case .sequence(let items) = node else { throw ConfigError(key, "expected a list") }
        var out: [String] = []
        for item in items { out.append(try string(item, key)) }
        return out
    }

    static func applyCache(_ node: Node, _ cache: inout CachetteConfig.Cache) throws(ConfigError) {
        for (name, value) in try mapping(node, "cache") {
            let key = "cache.\(name)"
            switch name {
            case "enabled": cache.enabled = try bool(value, key)
            case "mode": cache.mode = try choice(value, key)
            case "path": cache.path = expandHome(try string(value, key))
            case "ttl": cache.ttl = try duration(value, key)
            case "max_ttl": cache.maxTTL = try duration(value, key)
            case "max_bytes": cache.maxBytes = try size(value, key)
            case "memory_bytes": cache.memoryBytes = try size(value, key)
            case "scope": cache.scope = try choice(value, key)
            case "key_fields": cache.keyFields = try choice(value, key)
            case "key_ignore":
                cache.keyIgnore = try strings(value, key)
                if let bad = cache.keyIgnore.first(where: { $0.isEmpty || $0.allSatisfy { $0 == "*" } }) {
                    throw ConfigError(key, "\"\(bad)\" would ignore every system text; name the text's start, e.g. \"x-request-id: *\"")
                }
            case "compression_level":
                let level = try positiveInt(value, key)
                guard (1...19).contains(level) else { throw ConfigError(key, "must be between 1 and 19, got \(level)") }
                cache.zstdLevel = level
            case "credential_headers": cache.credentialHeaders = try strings(value, key).map { $0.lowercased() }
            case "stale_if_error": cache.staleIfError = try duration(value, key)
            default: throw unknown(key)
            }
        }
    }

    static func applyPromptCache(_ node: Node, _ promptCache: inout CachetteConfig.PromptCache) throws(ConfigError) {
        for (name, value) in try mapping(node, "prompt_cache") {
            let key = "prompt_cache.\(name)"
            switch name {
            case "openai": promptCache.openai = try choice(value, key)
            case "anthropic": promptCache.anthropic = try choice(value, key)
            case "max_prefixes": promptCache.steering.maxPrefixes = try bounded(value, key, 1...10_000_000)
            case "minimum_margin_percent": promptCache.steering.marginPercent = try bounded(value, key, 0...100)
            case "minimum_tokens":
                // `default:` sets the fallback; every other key is a model pattern, tried in order.
                var minimums: [PromptCacheSteering.Minimum] = []
                for (pattern, tokens) in try mapping(value, key) {
                    let count = try bounded(tokens, "\(key).\(pattern)", 1...1_000_000)
                    if pattern == "default" {
                        promptCache.steering.defaultMinimum = count
                    } else {
                        minimums.append(.init(pattern.lowercased(), count))
                    }
                }
                // Documented families the table leaves out keep their minimums.
                promptCache.steering.minimums =
                    minimums
                    + PromptCacheSteering.Settings.documentedMinimums.filter { documented in
                        !minimums.contains { $0.pattern == documented.pattern }
                    }
            default: throw unknown(key)
            }
        }
    }

    static func bounded(_ node: Node, _ key: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let text = try string(node, key)
        guard let value = Int(text), range.contains(value) else {
            throw ConfigError(key, "expected a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    static func applyStream(_ node: Node, _ stream: inout CachetteConfig.Stream) throws(ConfigError) {
        for (name, value) in try mapping(node, "stream") {
            let key = "stream.\(name)"
            switch name {
            case "finish_on_disconnect": stream.finishOnDisconnect = try bool(value, key)
            case "max_buffered_bytes": stream.maxBufferedBytes = try size(value, key)
            default: throw unknown(key)
            }
        }
    }

    static func applyCompression(_ node: Node, _ compression: inout CompressionOptions) throws(ConfigError) {
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
    static func applyPricing(_ node: Node, _ accounting: inout CachetteConfig.Accounting, directory: String) throws(ConfigError) {
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

    static func applyShared(_ node: Node, _ shared: inout CachetteConfig.Shared, _ env: [String: String]) throws(ConfigError) {
        for (name, value) in try mapping(node, "shared") {
            let key = "shared.\(name)"
            switch name {
            case "url":
                let text = try secret(string(value, key), key, env)
                shared.url = try text.map { url throws(ConfigError) -> SharedURL in try sharedURL(url, key) }
            case "pool_size": shared.poolSize = try positiveInt(value, key)
            case "timeout": shared.timeout = try duration(value, key)
            case "max_bytes": shared.maxBytes = try size(value, key)
            case "ledger": shared.ledger = try bool(value, key)
            case "unlogged": shared.unlogged = try bool(value, key)
            case "prune_interval": shared.pruneInterval = try duration(value, key)
            default: throw unknown(key)
            }
        }
    }

    static func applyLedger(_ node: Node, _ accounting: inout CachetteConfig.Accounting) throws(ConfigError) {
        for (name, value) in try mapping(node, "ledger") {
            switch name {
            case "retention": accounting.ledgerRetention = try duration(value, "ledger.\(name)")
            default: throw unknown("ledger.\(name)")
            }
        }
    }

    static func applyAccounting(_ node: Node, _ accounting: inout CachetteConfig.Accounting) throws(ConfigError) {
        for (name, value) in try mapping(node, "accounting") {
            switch name {
            case "max_models": accounting.maxModels = try positiveInt(value, "accounting.\(name)")
            default: throw unknown("accounting.\(name)")
            }
        }
    }

    static func applyLogging(_ node: Node, _ logging: inout CachetteConfig.Logging) throws(ConfigError) {
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
}

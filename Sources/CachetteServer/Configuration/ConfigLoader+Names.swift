/// Every setting's name, by where it stands, so an unknown one can be answered with the
/// nearest known one: a typo (`cache.tll`) is one line that names the fix.
extension ConfigLoader {
    static let sectionNames = [
        "server", "upstream", "upstreams", "cache", "shared", "stream", "compression", "prompt_cache", "pricing", "ledger", "accounting", "logging",
        "telemetry",
    ]

    /// The names a section takes; `upstreams.*` is any upstream's, `*.tls` any `tls:` block's.
    static let settingNames: [String: [String]] = [
        "server": [
            "host", "port", "max_body_bytes", "max_passthrough_bytes", "allowed_hosts", "allowed_origins", "read_timeout", "idle_timeout",
            "max_connections", "fast_lane",
        ],
        "upstream": [
            "base_url", "api_key", "timeout", "idle_timeout", "connect_timeout", "max_connections", "max_response_bytes", "tls", "proxy",
        ],
        "upstreams.*": ["name", "base_url", "format", "models", "api_key", "timeout", "tls", "proxy", "headers"],
        "*.tls": ["ca_file", "verify", "client_cert", "client_key", "server_name"],
        "cache": [
            "enabled", "mode", "path", "ttl", "max_ttl", "max_bytes", "memory_bytes", "scope", "key_fields", "key_ignore", "compression_level",
            "credential_headers", "stale_if_error",
        ],
        "stream": ["finish_on_disconnect", "max_buffered_bytes"],
        "compression": ["level", "dedup_min_tokens", "system", "max_tool_output_tokens"],
        "prompt_cache": ["openai", "anthropic", "max_prefixes", "minimum_tokens", "minimum_margin_percent"],
        "pricing": ["models", "file"],
        "shared": ["url", "pool_size", "timeout", "max_bytes", "ledger", "unlogged", "prune_interval"],
        "ledger": ["retention"],
        "accounting": ["max_models"],
        "logging": ["level"],
        "telemetry": ["otlp_endpoint", "service_name"],
    ]

    static func unknown(_ key: String) -> ConfigError {
        let parts = key.split(separator: ".").map(String.init)
        guard let name = parts.last, parts.count >= 2 else { return ConfigError(key, "unknown setting") }
        let section: String =
            switch (parts.first, parts.dropLast().last) {
            case (_, "tls"?): "*.tls"
            case ("upstreams"?, _) where parts.count == 3: "upstreams.*"
            default: parts.dropLast().joined(separator: ".")
            }
        let prefix = parts.dropLast().joined(separator: ".")
        guard let near = nearest(name, among: settingNames[section] ?? []) else { return ConfigError(key, "unknown setting") }
        return ConfigError(key, "unknown setting; did you mean \(prefix).\(near)?")
    }

    /// The known name closest to `name` in edits, if it is close enough to be a typo.
    static func nearest(_ name: String, among names: [String]) -> String? {
        let scored = names.map { ($0, editDistance(name, $0)) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored, distance <= max(2, name.count / 3) else { return nil }
        return best
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

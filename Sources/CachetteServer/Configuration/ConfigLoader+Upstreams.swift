import CachetteCore
import Foundation
import Yams

/// `upstream:` and `upstreams:`: where requests go, with their keys, proxies and TLS.
extension ConfigLoader {
    static func applyUpstream(_ node: Node, _ upstream: inout CachetteConfig.UpstreamSettings, _ env: [String: String]) throws(ConfigError) {
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
            case "tls": upstream.tls = try tls(value, key, env)
            case "proxy": upstream.proxy = try proxy(value, key, env)
            default: throw unknown(key)
            }
        }
    }

    /// `upstreams:`, a list of upstreams tried in order.
    static func upstreams(_ node: Node, _ env: [String: String]) throws(ConfigError) -> [CachetteConfig.Upstream] {
        guard case .sequence(let items) = node else { throw ConfigError("upstreams", "expected a list of upstreams") }
        var upstreams: [CachetteConfig.Upstream] = []
        for (index, item) in items.enumerated() {
            let members = try mapping(item, "upstreams[\(index)]")
            guard let nameNode = members.first(where: { $0.0 == "name" })?.1 else { throw ConfigError("upstreams[\(index)]", "needs a name") }
            let name = try string(nameNode, "upstreams[\(index)].name")
            guard !upstreams.contains(where: { $0.name == name }) else { throw ConfigError("upstreams.\(name)", "is listed twice") }
            var upstream = CachetteConfig.Upstream(name: name, baseURL: "")
            for (field, value) in members {
                let key = "upstreams.\(name).\(field)"
                switch field {
                case "name": break
                case "base_url": upstream.baseURL = try string(value, key)
                case "format": upstream.format = try choice(value, key)
                case "models": upstream.models = try strings(value, key)
                case "api_key": upstream.apiKey = try secret(string(value, key), key, env)
                case "timeout": upstream.timeout = try duration(value, key)
                case "tls": upstream.tls = try tls(value, key, env)
                case "proxy": upstream.proxy = try proxy(value, key, env)
                case "headers":
                    for (header, headerValue) in try mapping(value, key) {
                        upstream.headers.append(.init(name: header, value: try string(headerValue, "\(key).\(header)")))
                    }
                default: throw unknown(key)
                }
            }
            if upstream.isDefault, !upstream.models.isEmpty {
                throw ConfigError("upstreams.default.models", "the default upstream takes every model; remove models")
            }
            if !upstream.isDefault, upstream.models.isEmpty { throw ConfigError("upstreams.\(name).models", "needs at least one model pattern") }
            try checkURL(upstream.baseURL, "upstreams.\(name).base_url")
            upstreams.append(upstream)
        }
        return upstreams
    }

    /// `none`, or an HTTP proxy's URL (which may be `env:NAME`); the value is never
    /// printed, as it may hold a password.
    static func proxy(_ node: Node, _ key: String, _ env: [String: String]) throws(ConfigError) -> UpstreamProxy? {
        guard let text = try secret(string(node, key), key, env) else { return nil }
        if text.lowercased() == "none" { return .direct }
        guard let server = ProxyServer(text) else { throw ConfigError(key, "expected none or http://[user:password@]host:port") }
        return .server(server)
    }

    /// A `tls:` block. Paths may be `env:NAME`, like secrets.
    static func tls(_ node: Node, _ section: String, _ env: [String: String]) throws(ConfigError) -> UpstreamTLSSettings {
        var tls = UpstreamTLSSettings()
        for (name, value) in try mapping(node, section) {
            let key = "\(section).\(name)"
            switch name {
            case "ca_file": tls.caFile = try secret(string(value, key), key, env).map(expandHome)
            case "verify": tls.verify = try bool(value, key)
            case "client_cert": tls.clientCert = try secret(string(value, key), key, env).map(expandHome)
            case "client_key": tls.clientKey = try secret(string(value, key), key, env).map(expandHome)
            case "server_name": tls.serverName = try string(value, key)
            default: throw unknown(key)
            }
        }
        guard (tls.clientCert == nil) == (tls.clientKey == nil) else {
            throw ConfigError("\(section).client_cert", "client_cert and client_key go together; set both or neither")
        }
        return tls
    }
}

import Foundation

/// `proxy:` of an upstream, or of `upstream:` for every upstream. Unset: the
/// environment's `HTTPS_PROXY` / `HTTP_PROXY`, unless `NO_PROXY` names the host.
package enum UpstreamProxy: Sendable, Equatable {
    /// Straight to the upstream, whatever the environment says.
    case direct
    case server(ProxyServer)
}

/// An HTTP proxy: `http://[user:password@]host[:port]`. The password is never printed.
package struct ProxyServer: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    package var user: String?
    package var password: String?

    /// Nil when `text` is not such a URL. A value without a scheme (`proxy.corp:3128`)
    /// reads as http, as curl reads it.
    package init?(_ text: String) {
        let withScheme = text.contains("://") ? text : "http://" + text
        guard let url = URLComponents(string: withScheme), url.scheme?.lowercased() == "http", let host = url.host, !host.isEmpty,
            url.path.isEmpty || url.path == "/", url.query == nil
        else { return nil }
        self.host = host
        port = url.port ?? 80
        user = url.percentEncodedUser.flatMap { $0.removingPercentEncoding }
        password = url.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
    }

    package var description: String { "http://\(user.map { "\($0):***@" } ?? "")\(host):\(port)" }
}

/// The proxy the environment names: `HTTPS_PROXY` for https upstreams, `HTTP_PROXY`
/// for plain ones (lower case first, as curl reads them), and `NO_PROXY`'s exceptions.
package struct EnvironmentProxy: Sendable, Equatable {
    package var https: ProxyServer?
    package var http: ProxyServer?
    /// `*`, host names (matching the name and every name under it; a leading dot is
    /// the same), and IP addresses; `host:port` matches that port only.
    package var noProxy: [String] = []

    package init() {}

    /// Reads the variables; one whose value is not a proxy URL is a ConfigError naming it.
    package init(_ env: [String: String]) throws(ConfigError) {
        func server(_ names: [String]) throws(ConfigError) -> ProxyServer? {
            guard let name = names.first(where: { !(env[$0] ?? "").isEmpty }), let value = env[name] else { return nil }
            guard let server = ProxyServer(value) else { throw ConfigError(name, "expected http://[user:password@]host:port") }
            return server
        }
        https = try server(["https_proxy", "HTTPS_PROXY"])
        http = try server(["http_proxy", "HTTP_PROXY"])
        let exceptions = env["no_proxy"].flatMap { $0.isEmpty ? nil : $0 } ?? env["NO_PROXY"] ?? ""
        noProxy = exceptions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
    }

    /// The proxy for an upstream at `host`:`port` over `scheme`, if any.
    package func server(scheme: String, host: String, port: Int) -> ProxyServer? {
        let chosen = scheme.lowercased() == "https" ? https : http
        guard let chosen, !bypasses(host: host, port: port) else { return nil }
        return chosen
    }

    func bypasses(host: String, port: Int) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return noProxy.contains { entry in
            if entry == "*" { return true }
            var name = Substring(entry)
            // host:port, but not an IPv6 address's colons.
            if let colon = name.lastIndex(of: ":"), !name.hasPrefix("["), name.firstIndex(of: ":") == colon {
                guard Int(name[name.index(after: colon)...]) == port else { return false }
                name = name[..<colon]
            }
            name = name.drop { $0 == "." || $0 == "*" }.trimmingPrefix("[")
            if name.hasSuffix("]") { name = name.dropLast() }
            return host == name || host.hasSuffix("." + name)
        }
    }
}

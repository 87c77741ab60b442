import HTTPTypes
import Hummingbird

/// Keeps web pages from using the sidecar. A page in the user's browser can reach
/// 127.0.0.1, and the sidecar spends the keys it holds, so:
/// - a `Host` that is not `localhost`, an IP literal or a name in `server.allowed_hosts`
///   gets a 421: DNS rebinding needs a name of the attacker's;
/// - a request with an `Origin` that is not the sidecar's own or in
///   `server.allowed_origins` gets a 403, even one no preflight guards (`text/plain`);
/// - `OPTIONS` is answered here, never forwarded, and grants CORS to allowed origins only.
/// Requests without `Origin` (SDKs, curl, LiteLLM) are not affected.
struct BrowserGuard<Context: RequestContext>: RouterMiddleware {
    enum Refusal: Sendable { case host, origin }

    /// Lower-cased names, without ports.
    let allowedHosts: Set<String>
    /// Lower-cased origins, `scheme://host[:port]`.
    let allowedOrigins: Set<String>
    let onRefusal: @Sendable (Refusal) -> Void

    init(allowedHosts: [String], allowedOrigins: [String], onRefusal: @escaping @Sendable (Refusal) -> Void) {
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
        self.allowedOrigins = Set(allowedOrigins.map { Self.normalized(origin: $0) })
        self.onRefusal = onRefusal
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let authority = request.head.authority ?? ""
        guard answers(authority: authority) else {
            onRefusal(.host)
            return APIError(
                status: .misdirectedRequest,
                message:
                    "This sidecar does not answer requests for host \"\(Self.hostName(authority))\". Add the name to server.allowed_hosts if it is meant to reach the sidecar.",
                code: "host_not_allowed"
            ).response
        }
        let origin = request.headers[.origin]
        if let origin, !isAllowed(origin: origin, authority: authority) {
            onRefusal(.origin)
            return APIError(
                status: .forbidden,
                message:
                    "Requests from web pages (Origin \(origin)) are refused: the sidecar holds API keys. List the origin in server.allowed_origins to allow it.",
                code: "origin_not_allowed"
            ).response
        }
        if request.method == .options { return Self.preflight(request, origin: origin) }
        var response = try await next(request, context)
        if let origin {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] = "X-Cache, x-cachette-key, x-cachette-tokens-saved, Age"
            response.headers.append(HTTPField(name: .vary, value: "Origin"))
        }
        return response
    }

    /// Whether `handle` hands `head` on untouched: a host it answers, no `Origin` (so
    /// no CORS headers to add), not `OPTIONS`. The fast lane serves only these.
    func handsOnUntouched(_ head: HTTPRequest) -> Bool {
        head.method != .options && head.headerFields[.origin] == nil && answers(authority: head.authority ?? "")
    }

    /// HTTP/1.0 without Host cannot come from a browser; everything else is checked.
    private func answers(authority: String) -> Bool {
        authority.isEmpty || Self.isPlainLoopback(authority) || isAllowed(host: Self.hostName(authority))
    }

    /// `OPTIONS`: the methods, and for an allowed origin's preflight the CORS grant.
    static func preflight(_ request: Request, origin: String?) -> Response {
        var headers: HTTPFields = [.allow: "GET, POST, OPTIONS"]
        if let origin {
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? "authorization, content-type"
            headers[.accessControlMaxAge] = "600"
            headers[.vary] = "Origin"
        }
        return Response(status: .noContent, headers: headers)
    }

    func isAllowed(host: String) -> Bool {
        let host = host.lowercased()
        return host == "localhost" || host == "localhost." || Self.isIPLiteral(host) || allowedHosts.contains(host)
    }

    /// The common case, decided on bytes without allocating: `127.0.0.1` or `localhost`,
    /// with or without a port.
    static func isPlainLoopback(_ authority: String) -> Bool {
        var authority = authority
        return authority.withUTF8 { bytes in
            for name in loopbackAuthorities where bytes.count >= name.count && bytes.starts(with: name) {
                if bytes.count == name.count || bytes[name.count] == UInt8(ascii: ":") { return true }
            }
            return false
        }
    }

    /// A listed origin, or the sidecar's own: a page it served, reached over loopback
    /// (`http://127.0.0.1:PORT`, `http://localhost:PORT`, `http://[::1]:PORT`) on the
    /// port this request came to.
    func isAllowed(origin: String, authority: String) -> Bool {
        let origin = Self.normalized(origin: origin)
        if allowedOrigins.contains(origin) { return true }
        guard origin.hasPrefix("http://"), Self.isLoopback(Self.hostName(authority).lowercased()) else { return false }
        let originAuthority = String(origin.dropFirst("http://".count))
        return Self.isLoopback(Self.hostName(originAuthority)) && Self.port(originAuthority) == Self.port(authority)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "[::1]" || (host.hasPrefix("127.") && isIPLiteral(host))
    }

    /// The port of `host[:port]`, 80 when none is given (the sidecar speaks plain HTTP).
    static func port(_ authority: String) -> Int? {
        let host = hostName(authority)
        let rest = authority.dropFirst(host.count)
        guard rest.hasPrefix(":") else { return rest.isEmpty ? 80 : nil }
        return Int(rest.dropFirst())
    }

    /// `name:port` without the port; `[v6]:port` keeps its brackets.
    static func hostName(_ authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") { return String(authority[...close]) }
        return String(authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    static func isIPLiteral(_ host: String) -> Bool {
        if host.hasPrefix("["), host.hasSuffix("]") {
            let inner = host.dropFirst().dropLast()
            return !inner.isEmpty && inner.contains(":") && inner.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "%" || $0.isLetter }
        }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit) && (Int(part) ?? 256) <= 255
            }
    }

    static func normalized(origin: String) -> String {
        var origin = origin.lowercased()
        while origin.hasSuffix("/") { origin.removeLast() }
        return origin
    }
}

/// The hosts most requests name, checked on bytes first.
private let loopbackAuthorities: [[UInt8]] = [Array("127.0.0.1".utf8), Array("localhost".utf8)]

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

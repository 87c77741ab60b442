import HTTPTypes
import NIOHTTP1

/// Which headers cross the proxy, in each direction.
enum ForwardedHeaders {
    /// RFC 9110 §7.6.1 hop-by-hop headers, plus those the client stack sets itself.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
        "te", "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length",
    ]

    /// Client → upstream. Drops hop-by-hop headers (and any the Connection header names),
    /// our own `x-cachette-*` controls, and Accept-Encoding so the answer arrives as plain
    /// bytes we can read usage from and store. The upstream's `api_key` replaces the
    /// client's credential, and its `headers` are added over the client's.
    ///
    /// - Parameters:
    ///   - clientCredential: false drops the client's credential (a request the client
    ///     did not address to this upstream must not carry its key there).
    ///   - credentialHeaders: further headers dropped as credentials (`cache.credential_headers`).
    ///   - translated: an OpenAI request sent to an Anthropic upstream; its bearer token
    ///     becomes `x-api-key`, where Anthropic looks for an API key.
    static func request(
        _ fields: HTTPFields, upstream: CachetteConfig.Upstream, clientCredential: Bool = true, credentialHeaders: Set<String> = [],
        translated: Bool = false
    ) -> HTTPHeaders {
        let named = connectionTokens(fields)
        let upstreamHeaders = Set(upstream.headers.map { $0.name.lowercased() })
        let replaceCredential = upstream.apiKey != nil || !clientCredential
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count + upstream.headers.count + 1)
        for field in fields {
            let name = field.name.canonicalName
            if hopByHop.contains(name) || named.contains(name) || name.hasPrefix("x-cachette-") || name == "accept-encoding"
                || upstreamHeaders.contains(name) || credentialHeaders.contains(name)
            {
                continue
            }
            if replaceCredential && (name == "authorization" || name == "x-api-key" || name == "api-key" || name == "x-goog-api-key") { continue }
            if translated && name == "authorization" {
                if fields[CachetteHeaders.xAPIKey] == nil, field.value.lowercased().hasPrefix("bearer ") {
                    headers.add(name: "x-api-key", value: String(field.value.dropFirst(7)))
                }
                continue
            }
            headers.add(name: field.name.rawName, value: field.value)
        }
        for header in upstream.headers { headers.add(name: header.name, value: header.value) }
        let provider = upstream.format.provider
        if let key = upstream.apiKey { headers.add(name: provider.credentialHeader.name, value: provider.credentialHeader.prefix + key) }
        for (name, value) in provider.defaultHeaders where !headers.contains(name: name) { headers.add(name: name, value: value) }
        return headers
    }

    /// Upstream → client.
    static func response(_ headers: HTTPHeaders) -> HTTPFields {
        var named: Set<String> = []
        for value in headers["connection"] {
            for token in value.split(separator: ",") { named.insert(token.trimmingCharacters(in: " ").lowercased()) }
        }
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count + 2)
        for (name, value) in headers {
            let lower = name.lowercased()
            // The upstream's CORS grants are not the sidecar's: BrowserGuard decides those.
            if hopByHop.contains(lower) || named.contains(lower) || lower.hasPrefix("access-control-") { continue }
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return fields
    }

    private static func connectionTokens(_ fields: HTTPFields) -> Set<String> {
        var named: Set<String> = []
        for value in fields[values: .connection] {
            for token in value.split(separator: ",") { named.insert(token.trimmingCharacters(in: " ").lowercased()) }
        }
        return named
    }

}

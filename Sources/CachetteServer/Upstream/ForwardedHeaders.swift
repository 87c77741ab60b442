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
    /// bytes we can read usage from and store. With `apiKey` set, it replaces the client's.
    static func request(_ fields: HTTPFields, apiKey: String?) -> HTTPHeaders {
        let named = connectionTokens(fields)
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count)
        for field in fields {
            let name = field.name.canonicalName
            if hopByHop.contains(name) || named.contains(name) || name.hasPrefix("x-cachette-") || name == "accept-encoding" {
                continue
            }
            if apiKey != nil && (name == "authorization" || name == "x-api-key" || name == "api-key") { continue }
            headers.add(name: field.name.rawName, value: field.value)
        }
        if let apiKey { headers.add(name: "authorization", value: "Bearer \(apiKey)") }
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
            if hopByHop.contains(lower) || named.contains(lower) { continue }
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

    /// The value that decides whose cache entries a request may see.
    static func credential(_ fields: HTTPFields) -> String {
        let authorization = fields[.authorization] ?? ""
        let apiKey = fields[CachetteHeaders.xAPIKey] ?? fields[CachetteHeaders.azureAPIKey] ?? ""
        if apiKey.isEmpty { return authorization }
        return authorization + "\u{1}" + apiKey
    }
}

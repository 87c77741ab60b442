import CachetteCore
import HTTPTypes

/// What besides its body decides which stored answer a request may get: whose
/// credential sent it, and every forwarded part that changes the answer. It fails
/// closed: each place a request can carry a key is in it, so two credentials never
/// share an entry, and a request without any gets the scope of keyless clients.
struct RequestScope: Sendable {
    /// Headers that carry a credential: OpenAI's, Anthropic's, Azure's, Google's, and
    /// `cache.credential_headers`.
    let credentialHeaders: [HTTPField.Name]
    /// `cache.scope: shared` leaves credentials out (one trusted tenant).
    let sharesAcrossCredentials: Bool

    /// Forwarded headers that change what the upstream answers, on every route.
    static let answerHeaders: [HTTPField.Name] = [
        CachetteHeaders.openAIOrganization, CachetteHeaders.openAIProject, CachetteHeaders.anthropicBeta, CachetteHeaders.anthropicVersion,
    ]

    static let standardCredentialHeaders: [HTTPField.Name] = [
        .authorization, CachetteHeaders.xAPIKey, CachetteHeaders.azureAPIKey, CachetteHeaders.googleAPIKey,
    ]

    init(cache: CachetteConfig.Cache) {
        var names = Self.standardCredentialHeaders
        for name in cache.credentialHeaders {
            if let field = HTTPField.Name(name), !names.contains(field) { names.append(field) }
        }
        credentialHeaders = names
        sharesAcrossCredentials = cache.scope == .shared
    }

    /// The credential alone, for a log fingerprint.
    func credential(_ fields: HTTPFields) -> String {
        var out = ""
        Self.append(credentialHeaders, of: fields, separator: "\u{0}", to: &out)
        return out
    }

    /// Every value of each named header, in the names' order (not the headers'), so
    /// the same headers always give the same scope. On the hit path: no allocation
    /// but the scope string itself.
    private static func append(_ names: [HTTPField.Name], of fields: HTTPFields, separator: String, to out: inout String) {
        for name in names {
            for field in fields where field.name == name {
                out += separator
                out += name.canonicalName
                out += "="
                out += field.value
            }
        }
    }

    /// The scope string hashed into the key. The query string is forwarded upstream,
    /// so it is in the scope whatever `cache.scope` says (`?key=`, `api-version`).
    func scope(_ request: HTTPRequest, level: CompressionLevel) -> String {
        var scope = sharesAcrossCredentials ? "" : credential(request.headerFields)
        Self.append(Self.answerHeaders, of: request.headerFields, separator: "\u{1}", to: &scope)
        if let path = request.path, let query = path.utf8.firstIndex(of: UInt8(ascii: "?")) {
            scope += "\u{1}query="
            scope += path[query...]
        }
        // An answer to a prompt that lost text is not an answer to the original prompt.
        if level == .aggressive { scope += "\u{1}compress=aggressive" }
        return scope
    }
}

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
        HTTPField.Name("openai-organization")!, HTTPField.Name("openai-project")!,
        CachetteHeaders.anthropicBeta, CachetteHeaders.anthropicVersion,
    ]

    static let standardCredentialHeaders: [HTTPField.Name] = [
        .authorization, CachetteHeaders.xAPIKey, CachetteHeaders.azureAPIKey, HTTPField.Name("x-goog-api-key")!,
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
        for name in credentialHeaders {
            for value in fields[values: name] { out += name.canonicalName + "=" + value + "\u{0}" }
        }
        return out
    }

    /// The scope string hashed into the key. The query string is forwarded upstream,
    /// so it is in the scope whatever `cache.scope` says (`?key=`, `api-version`).
    func scope(_ request: HTTPRequest, level: CompressionLevel) -> String {
        var scope = sharesAcrossCredentials ? "" : credential(request.headerFields)
        for name in Self.answerHeaders {
            let values = request.headerFields[values: name]
            if !values.isEmpty { scope += "\u{1}" + name.canonicalName + "=" + values.joined(separator: ",") }
        }
        if let path = request.path, let query = path.firstIndex(of: "?") { scope += "\u{1}query=" + path[query...] }
        // An answer to a prompt that lost text is not an answer to the original prompt.
        if level == .aggressive { scope += "\u{1}compress=aggressive" }
        return scope
    }
}

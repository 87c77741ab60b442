/// Where a format's requests name their model: a member of the JSON body (OpenAI's and
/// Anthropic's `model`), or a segment of the path (Gemini's
/// `/v1beta/models/{model}:generateContent`), which then keys the entry through the path.
public enum ModelLocation: Sendable, Equatable {
    case body(member: String)
    /// The path segment after `prefix`, up to a `:` or `/`.
    case path(after: String)

    /// The model `path` names, if this location is the path: nil when it names none.
    package func model(inPath path: String) -> String? {
        guard case .path(let prefix) = self, path.hasPrefix(prefix) else { return nil }
        let rest = path.utf8.dropFirst(prefix.utf8.count)
        let end = rest.firstIndex { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/") } ?? rest.endIndex
        return String(Substring(rest[..<end]))
    }
}

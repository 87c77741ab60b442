#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// System texts left out of the cache key, never out of what is forwarded: a text that
/// changes on every request without changing the answer would make every request a
/// miss. Claude Code's first system block, `x-anthropic-billing-header: cc_version=…;
/// cch=…`, carries a new `cch` each time; it is always ignored. `cache.key_ignore` adds
/// globs (`*` only) of whole texts.
///
/// A text is an Anthropic `system` string or text block, or the content (a string or a
/// text part) of a chat message whose role is `system` or `developer`.
public struct KeyIgnore: Sendable {
    package static let billingHeader = "x-anthropic-billing-header:*"

    package let patterns: [String]
    /// Bytes one of which a value must hold before it is parsed; nil when a pattern's
    /// start could be escaped in JSON (or it starts with `*`): then every value is parsed.
    private let needles: [[UInt8]]?

    public init(patterns: [String] = []) {
        self.patterns = [Self.billingHeader] + patterns
        var needles: [[UInt8]] = []
        for pattern in self.patterns {
            let literal = pattern.prefix { $0 != "*" }
            // Canonical JSON writes printable ASCII other than `"` and `\` as it is.
            guard !literal.isEmpty, literal.utf8.allSatisfy({ (0x20...0x7e).contains($0) && $0 != 0x22 && $0 != 0x5c }) else {
                self.needles = nil
                return
            }
            needles.append(Array(literal.utf8))
        }
        self.needles = needles
    }

    private static let systemKey = Array("\"system\"".utf8)
    private static let messagesKey = Array("\"messages\"".utf8)

    /// The canonical `value` of top-level member `name` with the ignored texts left
    /// out; nil when nothing in it is ignored (the usual case, decided without parsing).
    func stripped(member name: ArraySlice<UInt8>, value: ArraySlice<UInt8>) -> [UInt8]? {
        let isSystem = name.elementsEqual(Self.systemKey)
        guard isSystem || name.elementsEqual(Self.messagesKey) else { return nil }
        if let needles, !needles.contains(where: { Self.contains(value, $0) }) { return nil }
        guard let parsed = try? JSONValue.parse(value) else { return nil }
        let kept = isSystem ? system(parsed) : messages(parsed)
        guard let kept else { return nil }
        return try? CanonicalJSONWriter.canonicalize(kept.serialized())
    }

    func ignores(_ text: String) -> Bool {
        patterns.contains { Glob.matches($0, text) }
    }

    /// Anthropic's `system`: a string, or text blocks.
    private func system(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .string(let text): return ignores(text) ? .array([]) : nil
        case .array(let blocks): return withoutIgnoredParts(blocks).map(JSONValue.array)
        default: return nil
        }
    }

    /// Chat messages: a system or developer message's ignored content goes, and the
    /// message with it when nothing is left.
    private func messages(_ value: JSONValue) -> JSONValue? {
        guard case .array(let messages) = value else { return nil }
        var changed = false
        var kept: [JSONValue] = []
        for message in messages {
            guard let role = message["role"]?.stringValue, role == "system" || role == "developer", case .object(var members) = message,
                let index = members.firstIndex(where: { $0.key == "content" })
            else {
                kept.append(message)
                continue
            }
            switch members[index].value {
            case .string(let text) where ignores(text):
                changed = true
            case .array(let parts):
                guard let remaining = withoutIgnoredParts(parts) else {
                    kept.append(message)
                    continue
                }
                changed = true
                if remaining.isEmpty { continue }
                members[index].value = .array(remaining)
                kept.append(.object(members))
            default:
                kept.append(message)
            }
        }
        return changed ? .array(kept) : nil
    }

    /// Text blocks or parts (`type: text`) whose text is ignored, left out; nil when none is.
    private func withoutIgnoredParts(_ parts: [JSONValue]) -> [JSONValue]? {
        let kept = parts.filter { part in
            guard part["type"]?.stringValue == "text", let text = part["text"]?.stringValue else { return true }
            return !ignores(text)
        }
        return kept.count == parts.count ? nil : kept
    }

    /// memchr for the first byte, then a compare: every request's `messages` is searched,
    /// so the scan runs near memory speed.
    private static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        haystack.withUnsafeBytes { hay in
            guard let first = needle.first, var at = hay.baseAddress, hay.count >= needle.count else { return false }
            let end = at + hay.count
            while end - at >= needle.count {
                guard let found = memchr(at, Int32(first), end - at - needle.count + 1) else { return false }
                if memcmp(found, needle, needle.count) == 0 { return true }
                at = UnsafeRawPointer(found) + 1
            }
            return false
        }
    }
}

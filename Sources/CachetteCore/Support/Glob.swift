/// Model-name patterns (`gpt-4o*`, `claude-*`), for prices and upstream routes.
package enum Glob {
    /// Glob match where `*` is the only special character.
    package static func matches(_ pattern: String, _ name: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map { Array($0.utf8) }
        let text = Array(name.utf8)
        guard let first = parts.first, text.starts(with: first) else { return false }
        var position = first.count
        for (index, part) in parts.enumerated().dropFirst() {
            if index == parts.count - 1 {
                return part.isEmpty || (text.count - position >= part.count && text.suffix(part.count).elementsEqual(part))
            }
            guard let found = find(part, in: text, from: position) else { return false }
            position = found + part.count
        }
        return position == text.count
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty else { return start }
        guard haystack.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= haystack.count {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

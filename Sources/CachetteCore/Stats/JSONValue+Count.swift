/// Counts read from outside (usage, indexes) are held to `TokenUsage.maxCount`, so the
/// rule lives beside it.
extension JSONValue {
    /// A whole number of 0 or more written without sign, fraction or exponent, up to
    /// `TokenUsage.maxCount`: what an index or a count from outside must be.
    package var countValue: Int? {
        guard case .number(let text) = self, text.utf8.count <= 12,
            text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let n = Int(text), n <= TokenUsage.maxCount
        else { return nil }
        return n
    }
}

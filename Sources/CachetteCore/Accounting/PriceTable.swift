/// Prices in US dollars per million tokens.
public struct ModelPrice: Sendable, Equatable {
    public var input: Double
    public var output: Double
    /// Prompt tokens the provider served from its own prompt cache.
    public var cachedInput: Double

    public init(input: Double, output: Double, cachedInput: Double? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput ?? input
    }

    /// What a request with this usage costs: cached prompt tokens at their own price.
    public func cost(prompt: Int, completion: Int, cachedPrompt: Int = 0) -> Double {
        let cached = min(cachedPrompt, prompt)
        return (Double(prompt - cached) * input + Double(cached) * cachedInput + Double(completion) * output) / 1_000_000
    }
}

/// Model name or pattern → price. `*` matches any run of characters; the most specific
/// entry wins: an exact name, then the pattern with the most literal characters.
public struct PriceTable: Sendable {
    public private(set) var entries: [String: ModelPrice]

    public init(_ entries: [String: ModelPrice] = [:]) {
        self.entries = entries
    }

    /// Later entries replace earlier ones of the same pattern.
    public mutating func merge(_ overrides: [String: ModelPrice]) {
        entries.merge(overrides) { $1 }
    }

    public func price(for model: String) -> ModelPrice? {
        // A provider prefix ("openai/gpt-4o") does not change the price.
        let name = model.split(separator: "/").last.map(String.init) ?? model
        if let exact = entries[name] ?? entries[model] { return exact }
        var best: (literal: Int, pattern: String, price: ModelPrice)?
        for (pattern, price) in entries where pattern.contains("*") && Self.matches(pattern, name) {
            let literal = pattern.count - pattern.filter { $0 == "*" }.count
            // Ties go to the alphabetically first pattern, so the choice never depends on hashing order.
            if best == nil || literal > best!.literal || (literal == best!.literal && pattern < best!.pattern) {
                best = (literal, pattern, price)
            }
        }
        return best?.price
    }

    /// Glob match where `*` is the only special character.
    static func matches(_ pattern: String, _ name: String) -> Bool {
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

/// Prices in US dollars per million tokens.
package struct ModelPrice: Sendable, Equatable {
    public var input: Double
    package var output: Double
    /// Prompt tokens the provider served from its own prompt cache.
    package var cachedInput: Double
    /// Prompt tokens written to the provider's prompt cache (Anthropic charges 1.25× input).
    package var cacheWrite: Double
    /// Prompt tokens written for an hour (Anthropic's `"ttl": "1h"`, 2× input).
    package var cacheWrite1h: Double

    package init(input: Double, output: Double, cachedInput: Double? = nil, cacheWrite: Double? = nil, cacheWrite1h: Double? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput ?? input
        self.cacheWrite = cacheWrite ?? input
        self.cacheWrite1h = cacheWrite1h ?? cacheWrite ?? input
    }

    /// What a request with this usage costs: cached and cache-written prompt tokens at
    /// their own prices, hour-long writes (part of `cacheWritePrompt`) at theirs.
    package func cost(prompt: Int, completion: Int, cachedPrompt: Int = 0, cacheWritePrompt: Int = 0, cacheWrite1hPrompt: Int = 0) -> Double {
        let cached = min(cachedPrompt, prompt)
        let written = min(cacheWritePrompt, prompt - cached)
        let hour = min(cacheWrite1hPrompt, written)
        let plain = prompt - cached - written
        return
            (Double(plain) * input + Double(cached) * cachedInput + Double(written - hour) * cacheWrite + Double(hour) * cacheWrite1h
            + Double(completion) * output) / 1_000_000
    }

    /// What the provider's prompt cache saved on reads: each at the cached price, not the input price.
    package func providerCacheReadSavings(read: Int) -> Double {
        Double(read) * max(0, input - cachedInput) / 1_000_000
    }

    /// What its writes cost over plain input: the price of the reads to come.
    package func providerCacheWritePremium(written: Int, hour: Int) -> Double {
        let hour = min(hour, written)
        return (Double(written - hour) * max(0, cacheWrite - input) + Double(hour) * max(0, cacheWrite1h - input)) / 1_000_000
    }
}

/// Model name or pattern → price. `*` matches any run of characters; the most specific
/// entry wins: an exact name, then the pattern with the most literal characters.
package struct PriceTable: Sendable {
    package private(set) var entries: [String: ModelPrice]

    package init(_ entries: [String: ModelPrice] = [:]) {
        self.entries = entries
    }

    /// Later entries replace earlier ones of the same pattern.
    package mutating func merge(_ overrides: [String: ModelPrice]) {
        entries.merge(overrides) { $1 }
    }

    package func price(for model: String) -> ModelPrice? {
        // A provider prefix ("openai/gpt-4o") does not change the price.
        let name = model.split(separator: "/").last.map(String.init) ?? model
        if let exact = entries[name] ?? entries[model] { return exact }
        var best: (literal: Int, pattern: String, price: ModelPrice)?
        for (pattern, price) in entries where pattern.contains("*") && Glob.matches(pattern, name) {
            let literal = pattern.count - pattern.filter { $0 == "*" }.count
            // Ties go to the alphabetically first pattern, so the choice never depends on hashing order.
            if best == nil || literal > best!.literal || (literal == best!.literal && pattern < best!.pattern) {
                best = (literal, pattern, price)
            }
        }
        return best?.price
    }
}

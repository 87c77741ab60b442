@testable import CachetteCore
import Foundation
import Logging
import Testing

@Suite("Prices")
struct PriceTableTests {
    static let table = PriceTable([
        "gpt-4o*": ModelPrice(input: 2.5, output: 10, cachedInput: 1.25),
        "gpt-4o-mini*": ModelPrice(input: 0.15, output: 0.6),
        "gpt-4o-mini-2024-07-18": ModelPrice(input: 1, output: 1),
        "*-sonnet-*": ModelPrice(input: 3, output: 15),
    ])

    @Test("a model's price: its exact name, else the pattern with the most literal characters, a provider prefix ignored")
    func wildcards() {
        #expect(Self.table.price(for: "gpt-4o-mini-2024-07-18")?.input == 1)
        #expect(Self.table.price(for: "gpt-4o-mini")?.input == 0.15)
        #expect(Self.table.price(for: "gpt-4o-2024-08-06")?.input == 2.5)
        #expect(Self.table.price(for: "openai/gpt-4o-mini")?.input == 0.15)
        #expect(Self.table.price(for: "claude-3-7-sonnet-latest")?.output == 15)
        #expect(Self.table.price(for: "gpt-4") == nil)
        #expect(Glob.matches("a*b*c", "aXXbYYc"))
        #expect(!Glob.matches("a*b*c", "aXXbYYcd"))
    }

    @Test("cost: cached prompt tokens at their own price, the cached price defaulting to input")
    func cost() {
        let price = ModelPrice(input: 2.5, output: 10, cachedInput: 1.25)
        #expect(abs(price.cost(prompt: 1_000_000, completion: 100_000, cachedPrompt: 400_000) - (1.5 + 0.5 + 1.0)) < 1e-9)
        #expect(ModelPrice(input: 3, output: 15).cachedInput == 3)
        // Anthropic: 100 written at 3.75, 1000 read at 0.30, 10 plain at 3, 7 out at 15.
        let claude = ModelPrice(input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75)
        #expect(abs(claude.cost(prompt: 1110, completion: 7, cachedPrompt: 1000, cacheWritePrompt: 100) - 810e-6) < 1e-12)
        #expect(ModelPrice(input: 3, output: 15).cacheWrite == 3)
        // An hour's writes at their own price: 60 of the 100 written at 6.
        let hourly = ModelPrice(input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75, cacheWrite1h: 6)
        #expect(abs(hourly.cost(prompt: 1110, completion: 7, cachedPrompt: 1000, cacheWritePrompt: 100, cacheWrite1hPrompt: 60) - 945e-6) < 1e-12)
        #expect(ModelPrice(input: 3, output: 15, cacheWrite: 3.75).cacheWrite1h == 3.75, "defaults to the write price")
    }

    @Test("the provider's cache: reads save input minus cached, writes cost write minus input, an hour's at its own price")
    func providerCache() {
        let claude = ModelPrice(input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75, cacheWrite1h: 6)
        #expect(abs(claude.providerCacheReadSavings(read: 1_000_000) - 2.7) < 1e-12)
        #expect(abs(claude.providerCacheWritePremium(written: 1_000_000, hour: 0) - 0.75) < 1e-12)
        #expect(abs(claude.providerCacheWritePremium(written: 1_000_000, hour: 400_000) - (0.45 + 1.2)) < 1e-12)
        #expect(claude.providerCacheWritePremium(written: 10, hour: 99) == claude.providerCacheWritePremium(written: 10, hour: 10))
        #expect(ModelPrice(input: 1, output: 1, cachedInput: 2, cacheWrite: 0.5).providerCacheReadSavings(read: 100) == 0, "never negative")
    }

    @Test("overrides replace single entries")
    func overrides() {
        var table = Self.table
        table.merge(["gpt-4o*": ModelPrice(input: 9, output: 9)])
        #expect(table.price(for: "gpt-4o")?.input == 9)
        #expect(table.price(for: "gpt-4o-mini")?.input == 0.15)
    }
}

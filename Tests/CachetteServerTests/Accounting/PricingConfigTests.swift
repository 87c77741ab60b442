import CachetteCore
@testable import CachetteServer
import Foundation
import Testing

@Suite("Pricing configuration")
struct PricingConfigTests {
    @Test("config/pricing.yaml is the shipped table, and covers OpenAI, Anthropic and Google")
    func shipped() throws {
        let file = try ConfigLoader.priceFile(ConfigTests.repoRoot.appendingPathComponent("config/pricing.yaml").path, key: "pricing.file")
        #expect(file == CachetteConfig.shippedPrices)
        let table = PriceTable(file)
        for model in [
            "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-5", "o3", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5-pro", "gemini-2.5-flash",
        ] {
            #expect(table.price(for: model) != nil, "\(model)")
        }
        #expect(table.price(for: "gpt-4o-mini")?.input == 0.15)
    }

    @Test("pricing.models overrides single entries and keeps the rest of the shipped table")
    func overrides() throws {
        var config = CachetteConfig()
        try ConfigLoader.apply(
            yaml: """
                pricing:
                  models:
                    "gpt-4o*": {input: 1, output: 2}
                    my-model: {input: 0.5, output: 0.5, cached_input: 0.1}
                ledger: {retention: 7d}
                """, to: &config)
        #expect(config.accounting.prices.price(for: "gpt-4o")?.input == 1)
        #expect(config.accounting.prices.price(for: "my-model")?.cachedInput == 0.1)
        #expect(config.accounting.prices.price(for: "claude-sonnet-4") != nil, "the rest of the shipped table stays")
        #expect(config.accounting.ledgerRetention == .seconds(7 * 86400))
    }

    @Test("pricing.file replaces the shipped table")
    func priceFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-pricing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "models:\n  only-this: {input: 1, output: 1}\n".write(to: dir.appendingPathComponent("mine.yaml"), atomically: true, encoding: .utf8)
        var replaced = CachetteConfig()
        try ConfigLoader.apply(yaml: "pricing: {file: mine.yaml}", to: &replaced, directory: dir.path)
        #expect(replaced.accounting.prices.entries.keys.sorted() == ["only-this"])
    }

    @Test("a bad price or ledger setting is refused, naming its key")
    func badPrices() throws {
        for (yaml, key) in [
            ("pricing:\n  models:\n    m: {input: cheap, output: 1}", "pricing.models.m.input"),
            ("pricing:\n  models:\n    m: {input: 1}", "pricing.models.m"),
            ("pricing:\n  currency: eur", "pricing.currency"),
            ("ledger:\n  retention: forever", "ledger.retention"),
        ] {
            var c = CachetteConfig()
            #expect { try ConfigLoader.apply(yaml: yaml, to: &c) } throws: { ($0 as? ConfigError)?.key == key }
        }
    }
}

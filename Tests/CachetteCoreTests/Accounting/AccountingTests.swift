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

@Suite("Ledger")
struct LedgerTests {
    static let prices = PriceTable(["gpt-4o*": ModelPrice(input: 2.5, output: 10, cachedInput: 1.25)])

    func database(_ path: String) throws -> CachetteDatabase {
        try CachetteDatabase(path: path, logger: Logger(label: "test"))
    }

    static func path() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cachette-ledger-\(UUID().uuidString).sqlite").path
    }

    @Test("each window sums the rows of its span (all: every row), in dollars fixed when recorded")
    func windows() async throws {
        let ledger = try Ledger(database: try database(Self.path()), prices: Self.prices, retention: .seconds(30 * 86400))
        let now = 1_800_000_000.0
        for (age, outcome) in [(60.0, RequestOutcome.miss), (1800, .hit), (7200, .miss), (2 * 86400, .hit), (10 * 86400, .miss)] {
            ledger.record(
                LedgerRecord(
                    time: now - age, route: "/v1/chat/completions", model: "gpt-4o", outcome: outcome,
                    promptTokens: 1000, completionTokens: 100, cachedPromptTokens: outcome == .miss ? 200 : 0))
        }
        let hour = try await ledger.totals(.hour, now: now)["gpt-4o"]!
        #expect(hour.requests == 2 && hour.hits == 1)
        #expect(hour.inputTokens == 1000 && hour.outputTokens == 100 && hour.cachedInputTokens == 200)
        #expect(hour.savedTokens == 1100)
        // 800 × 2.5 + 200 × 1.25 + 100 × 10, per million
        #expect(abs(hour.spentUSD - 0.00325) < 1e-12)
        #expect(abs(hour.savedUSD - 0.0035) < 1e-12)
        let day = try await ledger.totals(.day, now: now)["gpt-4o"]!
        #expect(day.requests == 3 && day.hits == 1)
        let week = try await ledger.totals(.week, now: now)["gpt-4o"]!
        #expect(week.requests == 4 && week.hits == 2)
        let all = try await ledger.totals(.all, now: now)["gpt-4o"]!
        #expect(all.requests == 5 && all.hits == 2 && all.inputTokens == 3000)
    }

    @Test("the provider's cache in every window and after a restart: writes, reads' savings and writes' premium, net")
    func providerCache() async throws {
        let path = Self.path()
        let prices = PriceTable(["claude-*": ModelPrice(input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75, cacheWrite1h: 6)])
        let now = 1_800_000_000.0
        do {
            let ledger = try Ledger(database: try database(path), prices: prices, retention: .seconds(30 * 86400))
            // A write of 2,000 (500 for an hour), then two reads of 2,000; a hit books neither.
            let booked = ledger.record(
                LedgerRecord(
                    time: now - 4000, route: "/v1/messages", model: "claude-sonnet-4-6", outcome: .miss, promptTokens: 2010,
                    completionTokens: 5, cacheWritePromptTokens: 2000, cacheWrite1hPromptTokens: 500))
            #expect(abs(booked.providerWritePremium - (1500 * 0.75 + 500 * 3) / 1e6) < 1e-15 && booked.providerReadSavings == 0)
            for age in [50.0, 9000] {
                ledger.record(
                    LedgerRecord(
                        time: now - age, route: "/v1/messages", model: "claude-sonnet-4-6", outcome: .miss, promptTokens: 2010,
                        completionTokens: 5, cachedPromptTokens: 2000))
            }
            ledger.record(
                LedgerRecord(
                    time: now - 10, route: "/v1/messages", model: "claude-sonnet-4-6", outcome: .hit, promptTokens: 2010,
                    completionTokens: 5, cachedPromptTokens: 2000, cacheWritePromptTokens: 9))
            let hour = try #require(try await ledger.totals(.hour, now: now)["claude-sonnet-4-6"])
            #expect(hour.cacheWriteInputTokens == 0 && hour.cachedInputTokens == 2000, "the hit's counts are not the provider's")
            #expect(abs(hour.providerCacheReadSavingsUSD - 2000 * 2.7 / 1e6) < 1e-12 && hour.providerCacheWritePremiumUSD == 0)
            let day = try #require(try await ledger.totals(.day, now: now)["claude-sonnet-4-6"])
            #expect(day.cacheWriteInputTokens == 2000 && day.cachedInputTokens == 4000)
            #expect(abs(day.providerCacheWritePremiumUSD - 0.002625) < 1e-12)
            #expect(abs(day.savedProviderCacheUSD - (0.0108 - 0.002625)) < 1e-12)
            #expect(try await ledger.totals(.all, now: now)["claude-sonnet-4-6"] == day)
            try await ledger.flush(now: now)
        }
        let reopened = try Ledger(database: try database(path), prices: prices, retention: .seconds(30 * 86400))
        let all = try #require(try await reopened.totals(.all)["claude-sonnet-4-6"])
        #expect(all.cacheWriteInputTokens == 2000 && abs(all.savedProviderCacheUSD - (0.0108 - 0.002625)) < 1e-12, "kept in model_totals")
        let series = try await reopened.series(.day, step: 3600, now: now)
        #expect(abs(series.savedProviderCacheUSD.reduce(0, +) - (0.0108 - 0.002625)) < 1e-12)
        #expect(series.savedProviderCacheUSD.contains { $0 < 0 }, "the hour of the write alone is a net cost")
    }

    @Test("retention drops old rows but not their all-time sums, and both survive a restart")
    func restart() async throws {
        let path = Self.path()
        let now = Date().timeIntervalSince1970
        do {
            let ledger = try Ledger(database: try database(path), prices: Self.prices, retention: .seconds(86400))
            ledger.record(LedgerRecord(time: now - 2 * 86400, route: "r", model: "gpt-4o", outcome: .miss, promptTokens: 10))
            ledger.record(LedgerRecord(time: now - 60, route: "r", model: "gpt-4o", outcome: .hit, promptTokens: 10, completionTokens: 5))
            ledger.record(LedgerRecord(time: now - 30, route: "r", model: "other", outcome: .miss, promptTokens: 7))
            try await ledger.flush(now: now)
            #expect(try await ledger.rowCount() == 2, "the 2-day-old row is past a 1-day retention")
        }
        let reopened = try Ledger(database: try database(path), prices: Self.prices, retention: .seconds(86400))
        let all = try await reopened.totals(.all)
        #expect(all["gpt-4o"]?.requests == 2, "all-time sums keep what retention dropped")
        #expect(all["gpt-4o"]?.savedTokens == 15)
        #expect(all["other"]?.spentUSD == 0, "no price, no dollars")
        #expect(try await reopened.totals(.day)["gpt-4o"]?.requests == 1)
    }
}

@Suite("Dollars for people")
struct DollarsTests {
    @Test("2 decimals from $1, 4 significant digits below, grouped thousands")
    func rule() {
        let cases: [(Double, String)] = [
            (0, "$0.00"), (1, "$1.00"), (1234.5, "$1,234.50"), (1_234_567.891, "$1,234,567.89"), (0.5, "$0.5000"),
            (0.0001484, "$0.0001484"), (0.0000975, "$0.00009750"), (0.00001234567, "$0.00001235"), (0.99996, "$1.00"),
            (-0.25, "-$0.2500"), (-12.345, "-$12.35"), (.infinity, "-"), (.nan, "-"),
        ]
        for (amount, expected) in cases {
            #expect(Dollars.format(amount) == expected, "\(amount)")
        }
    }
}

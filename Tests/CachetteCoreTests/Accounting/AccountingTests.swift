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

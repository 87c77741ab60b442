@testable import CachetteCore
import Foundation
import Logging
import Testing

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

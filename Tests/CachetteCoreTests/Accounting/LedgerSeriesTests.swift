@testable import CachetteCore
import Foundation
import GRDB
import Logging
import Testing

@Suite("Ledger series and recent requests")
struct LedgerSeriesTests {
    /// Not on a bucket boundary: a window starts and ends inside buckets.
    static let now = 1_800_000_100.0

    /// Ages in seconds, outcomes and models of the requests `ledger` books.
    static let traffic: [(age: Double, outcome: RequestOutcome, model: String)] = [
        (10, .miss, "gpt-4o"), (20, .hit, "gpt-4o"), (400, .miss, "gpt-4o-mini"), (3 * 3600, .hit, "gpt-4o"),
        (2 * 86400, .miss, "gpt-4o"), (10 * 86400, .error, "gpt-4o"),
    ]

    static func record(_ age: Double, _ outcome: RequestOutcome, _ model: String, latency: Double = 12.5) -> LedgerRecord {
        LedgerRecord(
            time: now - age, route: "/v1/chat/completions", model: model, outcome: outcome, promptTokens: 1000, completionTokens: 100,
            savedCompressionTokens: outcome == .miss ? 50 : 0, latencyMs: latency)
    }

    static func ledger(_ path: String = LedgerTests.path(), retention: Duration = .seconds(30 * 86400)) throws -> Ledger {
        let ledger = try Ledger(
            database: try CachetteDatabase(path: path, logger: Logger(label: "test")), prices: LedgerTests.prices, retention: retention)
        for (age, outcome, model) in traffic { ledger.record(record(age, outcome, model)) }
        return ledger
    }

    static func sum(_ values: [Double]) -> Double { values.reduce(0, +) }
    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }

    static let everything: [RequestOutcome: Int] = [.error: 1, .miss: 3, .hit: 2]
    static let lastDay: [RequestOutcome: Int] = [.hit: 2, .miss: 2]

    /// Requests per outcome over the whole series; outcomes with none are left out.
    static func totals(_ series: LedgerSeries) -> [RequestOutcome: Int] {
        series.requests.mapValues { $0.reduce(0, +) }.filter { $0.value > 0 }
    }

    @Test("24h in 5-minute buckets: every request of the window in the bucket of its time, dollars equal to /stats's")
    func day() async throws {
        let ledger = try Self.ledger()
        let series = try await ledger.series(.day, step: nil, now: Self.now)
        #expect(series.step == 300)
        #expect(series.count == 289)
        #expect(series.start == Int(Self.now - 86400) / 300 * 300)
        let last = series.count - 1
        #expect(series.requests[.miss]?[last] == 1 && series.requests[.hit]?[last] == 1, "10 and 20 seconds ago")
        #expect(series.requests[.miss]?[last - 1] == 1, "400 seconds ago")
        #expect(series.requests[.hit]?[252] == 1, "three hours ago")
        #expect(Self.totals(series) == Self.lastDay)
        let totals = try await ledger.totals(.day, now: Self.now).values
        #expect(Self.close(Self.sum(series.spentUSD), totals.reduce(0) { $0 + $1.spentUSD }))
        #expect(Self.close(Self.sum(series.savedCacheUSD), totals.reduce(0) { $0 + $1.savedUSD - $1.savedCompressionUSD }))
        #expect(Self.close(Self.sum(series.savedCompressionUSD), totals.reduce(0) { $0 + $1.savedCompressionUSD }))
        #expect(series.savedCacheTokens.reduce(0, +) == 2 * 1100)
        #expect(series.savedCompressionTokens.reduce(0, +) == 2 * 50)
        #expect(Self.sum(series.savedCompressionUSD) > 0)
    }

    @Test("an asked step: hours read from the hourly sums; steps not in whole minutes or past 500 buckets are refused")
    func steps() async throws {
        let ledger = try Self.ledger()
        let hourly = try await ledger.series(.day, step: 3600, now: Self.now)
        #expect(hourly.count == 25)
        #expect(Self.totals(hourly) == Self.lastDay)
        #expect(hourly.requests[.hit]?[hourly.count - 1] == 1 && hourly.requests[.hit]?[hourly.count - 4] == 1)
        #expect(try await ledger.series(.hour, step: 60, now: Self.now).count == 61)
        await #expect(throws: LedgerSeriesError.self) { try await ledger.series(.day, step: 90, now: Self.now) }
        await #expect(throws: LedgerSeriesError.self) { try await ledger.series(.day, step: 60, now: Self.now) }
        #expect(LedgerSeries.parseStep("5m") == 300 && LedgerSeries.parseStep("1h") == 3600 && LedgerSeries.parseStep("2d") == 172_800)
        #expect(LedgerSeries.parseStep("90") == 90 && LedgerSeries.parseStep("60s") == 60)
        for bad in ["", "m", "0m", "-5m", "5x", "1.5h", "٣m", "9999999999m", " 5m"] {
            #expect(LedgerSeries.parseStep(Substring(bad)) == nil, "\(bad)")
        }
    }

    @Test("all: from the oldest bucket kept, in the finest step that fits; retention drops old buckets too")
    func allAndRetention() async throws {
        let ledger = try Self.ledger()
        let all = try await ledger.series(.all, step: nil, now: Self.now)
        #expect(all.step == 3600)
        #expect(all.start == Int(Self.now - 10 * 86400) / 3600 * 3600)
        #expect(all.count <= LedgerSeries.maxBuckets)
        #expect(Self.totals(all) == Self.everything)

        let pruned = try Self.ledger(retention: .seconds(86400))
        let kept = try await pruned.series(.all, step: nil, now: Self.now)
        #expect(Self.totals(kept) == Self.lastDay, "the 2- and 10-day-old buckets are past retention")
        #expect(kept.step == 60, "three hours of buckets kept: minutes fit")
    }

    @Test("a ledger from before the rollup is summed into it when the file is opened")
    func backfill() async throws {
        let path = LedgerTests.path()
        do {
            let pool = try DatabasePool(path: path)
            try CachetteDatabase.migrator.migrate(pool)
            try LedgerSchema.migrator.migrate(pool, upTo: "v3: ledger")
            try await pool.write { db in
                for (age, outcome, model) in Self.traffic {
                    let r = Self.record(age, outcome, model)
                    try db.execute(
                        sql: """
                            INSERT INTO ledger (time, route, model, outcome, prompt_tokens, completion_tokens, cached_prompt_tokens,
                                                saved_cache_tokens, saved_compression_tokens, prompt_tokens_before_compression,
                                                counted, latency_ms, spent_usd, saved_usd, saved_compression_usd)
                            VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, 0, 0, ?, ?, ?, ?)
                            """,
                        arguments: [
                            r.time, r.route, r.model, r.outcome.rawValue, r.promptTokens, r.completionTokens, r.savedCacheTokens,
                            r.savedCompressionTokens, r.latencyMs, 0.25, outcome == .hit ? 0.5 : outcome == .miss ? 0.125 : 0,
                            outcome == .miss ? 0.125 : 0,
                        ])
                }
            }
            try pool.close()
        }
        let ledger = try Ledger(
            database: try CachetteDatabase(path: path, logger: Logger(label: "test")), prices: LedgerTests.prices,
            retention: .seconds(30 * 86400))
        let all = try await ledger.series(.all, step: nil, now: Self.now)
        #expect(Self.totals(all) == Self.everything)
        #expect(Self.close(Self.sum(all.spentUSD), 6 * 0.25))
        #expect(Self.close(Self.sum(all.savedCacheUSD), 2 * 0.5))
        #expect(Self.close(Self.sum(all.savedCompressionUSD), 3 * 0.125))
        // The per-model hours too: a week's totals come from them and agree with the rows.
        let week = try await ledger.totals(.week, now: Self.now)
        #expect(week["gpt-4o"]?.requests == 4 && week["gpt-4o-mini"]?.requests == 1)
        #expect(Self.close(week["gpt-4o"]?.spentUSD ?? 0, 4 * 0.25))
    }

    @Test("a ledger from before misses were summed gets them: hours exactly from their rows, all-time sums less the kept rows of other outcomes")
    func missesBackfill() async throws {
        let path = LedgerTests.path()
        do {
            // A file at v6, written as that version did: its own ledger's flush, then the columns it lacked dropped.
            let written = try Self.ledger(path)
            try await written.flush(now: Self.now)
            let pool = try DatabasePool(path: path)
            try await pool.write { db in
                try db.execute(
                    sql: """
                        ALTER TABLE model_totals DROP COLUMN misses;
                        ALTER TABLE ledger_model_hours DROP COLUMN misses;
                        DELETE FROM grdb_migrations WHERE identifier = 'v7: misses per model';
                        -- All-time sums from before the rows kept: 5 more requests, 2 of them hits.
                        UPDATE model_totals SET requests = requests + 5, hits = hits + 2 WHERE model = 'gpt-4o';
                        """)
            }
            try pool.close()
        }
        let ledger = try Ledger(
            database: try CachetteDatabase(path: path, logger: Logger(label: "test")), prices: LedgerTests.prices,
            retention: .seconds(30 * 86400))
        let all = try await ledger.totals(.all, now: Self.now)
        // gpt-4o: 2 misses and an error kept, plus the 3 older requests that were not hits, taken as misses.
        #expect(all["gpt-4o"]?.misses == 5 && all["gpt-4o"]?.hits == 4 && all["gpt-4o"]?.requests == 10)
        #expect(all["gpt-4o-mini"]?.misses == 1)
        let week = try await ledger.totals(.week, now: Self.now)
        #expect(week["gpt-4o"]?.misses == 2 && week["gpt-4o"]?.hits == 2, "the kept hours, exactly")
        #expect(week["gpt-4o"]?.hitRatio == 0.5)
    }

    @Test("window totals from hourly sums and edge rows equal a count of the rows, at any moment and edge")
    func windowTotalsAreExact() async throws {
        var generator = SystemRandomNumberGenerator()
        let base = 1_800_000_000.0
        let ledger = try Ledger(
            database: try CachetteDatabase(path: LedgerTests.path(), logger: Logger(label: "test")), prices: LedgerTests.prices,
            retention: .seconds(30 * 86400))
        var records: [LedgerRecord] = []
        // Some exactly on hour boundaries, the rest anywhere in ten days.
        for i in 0..<600 {
            let time =
                i % 10 == 0
                ? base - Double(Int.random(in: 1...240, using: &generator)) * 3600 : base - Double.random(in: 0..<(10 * 86400), using: &generator)
            let outcome: RequestOutcome = [.hit, .miss, .miss, .error, .stale].randomElement(using: &generator) ?? .miss
            let record = LedgerRecord(
                time: time, route: "/v1/chat/completions", model: ["gpt-4o", "gpt-4o-mini"].randomElement(using: &generator) ?? "",
                outcome: outcome, promptTokens: Int.random(in: 0...2000, using: &generator),
                completionTokens: Int.random(in: 0...500, using: &generator),
                cachedPromptTokens: 7, savedCompressionTokens: Int.random(in: 0...50, using: &generator))
            records.append(record)
            ledger.record(record)
        }
        for now in [base, base + 0.5, base + 1799.25, base + 3600, base + 86_399.75] {
            for window in [LedgerWindow.hour, .day, .week] {
                let since = now - (window.seconds ?? 0)
                let got = try await ledger.totals(window, now: now)
                for model in ["gpt-4o", "gpt-4o-mini"] {
                    let inWindow = records.filter { $0.model == model && $0.time >= since }
                    let t = got[model] ?? ModelTotals()
                    #expect(t.requests == inWindow.count, "\(model) \(window) at \(now)")
                    #expect(t.hits == inWindow.count { $0.outcome == .hit })
                    #expect(t.inputTokens == inWindow.filter { $0.outcome != .hit }.reduce(0) { $0 + $1.promptTokens })
                    #expect(t.savedCompressionTokens == inWindow.reduce(0) { $0 + $1.savedCompressionTokens })
                }
            }
        }
    }

    @Test("recent: the last requests, newest first, as many as asked")
    func recent() async throws {
        let ledger = try Self.ledger()
        let recent = try await ledger.recent(limit: 3)
        #expect(recent.map(\.outcome) == ["miss", "hit", "miss"])
        #expect(recent.map(\.model) == ["gpt-4o", "gpt-4o", "gpt-4o-mini"])
        #expect(recent[0].time == Self.now - 10 && recent[0].latencyMs == 12.5)
        #expect(recent[0].promptTokens == 1000 && recent[0].completionTokens == 100 && recent[0].spentUSD > 0)
        #expect(recent[1].savedUSD > 0 && recent[1].spentUSD == 0)
        #expect(try await ledger.recent(limit: 100).count == Self.traffic.count)
        let memoryOnly = try Ledger(database: nil, prices: LedgerTests.prices, retention: .seconds(86400))
        memoryOnly.record(Self.record(5, .miss, "gpt-4o"))
        #expect(try await memoryOnly.recent(limit: 10).isEmpty, "without a ledger file there are no rows")
    }
}

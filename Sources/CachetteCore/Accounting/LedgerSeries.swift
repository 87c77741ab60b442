import Foundation
import GRDB

/// The ledger over time, for `/stats/series`: requests per outcome, dollars and saved
/// tokens per bucket of `step` seconds, from the first bucket that starts at or before
/// the window's beginning to the one that holds `now`.
package struct LedgerSeries: Sendable, Equatable {
    package var window: LedgerWindow
    package var step: Int
    /// Unix seconds at which bucket 0 starts; bucket i starts `i * step` later.
    public var start: Int
    public var requests: [RequestOutcome: [Int]]
    package var spentUSD: [Double]
    package var savedCacheUSD: [Double]
    package var savedCompressionUSD: [Double]
    /// The provider's prompt cache: its reads' savings net of its writes' premium (may be negative).
    package var savedProviderCacheUSD: [Double]
    package var savedCacheTokens: [Int]
    package var savedCompressionTokens: [Int]

    public var count: Int { spentUSD.count }

    /// The most buckets a series holds.
    package static let maxBuckets = 500
    /// Steps chosen when none is asked for: the finest that keeps to `maxBuckets`.
    static let automaticSteps = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400]

    /// Seconds in `text`: a whole number followed by `s`, `m`, `h` or `d`, or bare seconds.
    package static func parseStep(_ text: Substring) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var digits = text
        var unit = 1
        if let last = text.last, let seconds = units[last] {
            digits = text.dropLast()
            unit = seconds
        }
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCII), let value = Int(digits), value > 0 else { return nil }
        return value * unit
    }

    init(window: LedgerWindow, step: Int, start: Int, count: Int) {
        self.window = window
        self.step = step
        self.start = start
        requests = Dictionary(uniqueKeysWithValues: RequestOutcome.allCases.map { ($0, Array(repeating: 0, count: count)) })
        spentUSD = Array(repeating: 0, count: count)
        savedCacheUSD = spentUSD
        savedCompressionUSD = spentUSD
        savedProviderCacheUSD = spentUSD
        savedCacheTokens = Array(repeating: 0, count: count)
        savedCompressionTokens = savedCacheTokens
    }
}

/// Why a series cannot be drawn as asked.
package struct LedgerSeriesError: Error, CustomStringConvertible {
    package let description: String
}

extension Ledger {
    /// Seconds per bucket of `ledger_rollup`, finest first.
    static let rollupResolutions = [60, 3600]

    struct RollupKey: Hashable {
        var resolution: Int
        var bucket: Int
        var outcome: String
    }

    struct RollupSums {
        var requests = 0
        var savedCacheTokens = 0
        var savedCompressionTokens = 0
        var spent = 0.0
        var savedCache = 0.0
        var savedCompression = 0.0
        var savedProviderCache = 0.0
    }

    /// Adds a flush's rows to their minutes and hours, and drops buckets past retention.
    static func writeRollup(
        _ rows: [(LedgerRecord, Booking)], cutoff: Double, db: Database
    ) throws {
        var sums: [RollupKey: RollupSums] = [:]
        for (record, booking) in rows where record.time >= 0 && record.time < 1e15 {
            for resolution in rollupResolutions {
                let key = RollupKey(resolution: resolution, bucket: Int(record.time) / resolution * resolution, outcome: record.outcome.rawValue)
                var s = sums[key, default: RollupSums()]
                s.requests += 1
                s.savedCacheTokens += record.savedCacheTokens
                s.savedCompressionTokens += record.savedCompressionTokens
                s.spent += booking.spent
                s.savedCache += booking.saved - booking.savedByCompression
                s.savedCompression += booking.savedByCompression
                s.savedProviderCache += booking.providerReadSavings - booking.providerWritePremium
                sums[key] = s
            }
        }
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO ledger_rollup (resolution, bucket, outcome, requests, saved_cache_tokens, saved_compression_tokens,
                                           spent_usd, saved_cache_usd, saved_compression_usd, saved_provider_cache_usd)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (resolution, bucket, outcome) DO UPDATE SET
                    requests = requests + excluded.requests,
                    saved_cache_tokens = saved_cache_tokens + excluded.saved_cache_tokens,
                    saved_compression_tokens = saved_compression_tokens + excluded.saved_compression_tokens,
                    spent_usd = spent_usd + excluded.spent_usd, saved_cache_usd = saved_cache_usd + excluded.saved_cache_usd,
                    saved_compression_usd = saved_compression_usd + excluded.saved_compression_usd,
                    saved_provider_cache_usd = saved_provider_cache_usd + excluded.saved_provider_cache_usd
                """)
        for (key, s) in sums {
            try upsert.execute(arguments: [
                key.resolution, key.bucket, key.outcome, s.requests, s.savedCacheTokens, s.savedCompressionTokens, s.spent, s.savedCache,
                s.savedCompression, s.savedProviderCache,
            ])
        }
        for resolution in rollupResolutions {
            try db.execute(
                sql: "DELETE FROM ledger_rollup WHERE resolution = ? AND bucket <= ?", arguments: [resolution, cutoff - Double(resolution)])
        }
    }

    /// The window in buckets of `step` seconds (chosen when nil: the finest of
    /// `automaticSteps` that keeps to `maxBuckets`). Throws when a step is not a whole
    /// number of minutes or would need more than `maxBuckets` buckets.
    package func series(_ window: LedgerWindow, step asked: Int?, now: Double = Date().timeIntervalSince1970) async throws -> LedgerSeries {
        guard now.isFinite, now >= 0 else { throw LedgerSeriesError(description: "the clock is not usable") }
        try await flush(now: now)
        let end = Int(now)
        var since = window.seconds.map { max(0, end - Int($0)) } ?? end
        if window == .all, let pool {
            let oldest = try await pool.read { db in
                try Int.fetchOne(db, sql: "SELECT min(bucket) FROM ledger_rollup WHERE resolution = ?", arguments: [Self.rollupResolutions[0]])
            }
            since = max(0, min(since, oldest ?? since))
        }
        func buckets(_ step: Int) -> Int { end / step - since / step + 1 }
        let step: Int
        if let asked {
            guard asked % 60 == 0 else {
                throw LedgerSeriesError(description: "step must be a whole number of minutes (60s, 5m, 1h, 1d), got \(asked) seconds.")
            }
            guard buckets(asked) <= LedgerSeries.maxBuckets else {
                throw LedgerSeriesError(
                    description: "a step of \(asked) seconds makes \(buckets(asked)) buckets over this window; at most \(LedgerSeries.maxBuckets).")
            }
            step = asked
        } else {
            step = LedgerSeries.automaticSteps.first { buckets($0) <= LedgerSeries.maxBuckets } ?? 30 * 86400
            // Older than 500 of the longest steps (a file from another clock): the newest of it.
            if buckets(step) > LedgerSeries.maxBuckets { since = end - (LedgerSeries.maxBuckets - 1) * step }
        }
        let first = since / step * step
        let empty = LedgerSeries(window: window, step: step, start: first, count: buckets(step))
        guard let pool else { return empty }
        let resolution = Self.rollupResolutions.last { step % $0 == 0 } ?? Self.rollupResolutions[0]
        return try await pool.read { db in
            var series = empty
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT (bucket - ?) / ? AS i, outcome, sum(requests) AS requests, sum(saved_cache_tokens) AS saved_cache_tokens,
                           sum(saved_compression_tokens) AS saved_compression_tokens, sum(spent_usd) AS spent_usd,
                           sum(saved_cache_usd) AS saved_cache_usd, sum(saved_compression_usd) AS saved_compression_usd,
                           sum(saved_provider_cache_usd) AS saved_provider_cache_usd
                    FROM ledger_rollup WHERE resolution = ? AND bucket >= ? AND bucket <= ? GROUP BY i, outcome
                    """, arguments: [first, step, resolution, first, end])
            // By position: a day in 5-minute buckets is thousands of rows, and names cost a lookup each.
            while let row = try rows.next() {
                guard let i = row[0] as Int?, series.spentUSD.indices.contains(i) else { continue }
                if let outcome = (row[1] as String?).flatMap(RequestOutcome.init(rawValue:)) {
                    let before = series.requests[outcome]?[i] ?? 0
                    series.requests[outcome]?[i] = before.addingSaturated(row[2] as Int? ?? 0)
                }
                series.savedCacheTokens[i] = series.savedCacheTokens[i].addingSaturated(row[3] as Int? ?? 0)
                series.savedCompressionTokens[i] = series.savedCompressionTokens[i].addingSaturated(row[4] as Int? ?? 0)
                series.spentUSD[i] += row[5] as Double? ?? 0
                series.savedCacheUSD[i] += row[6] as Double? ?? 0
                series.savedCompressionUSD[i] += row[7] as Double? ?? 0
                series.savedProviderCacheUSD[i] += row[8] as Double? ?? 0
            }
            return series
        }
    }
}

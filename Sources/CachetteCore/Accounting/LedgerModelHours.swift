import Foundation
import GRDB

/// Per-model sums per hour (`ledger_model_hours`), kept beside the rows by `flush`, so
/// `/stats?window=7d` reads at most 168 hours per model and two partial hours of rows,
/// not a week of rows. The sums are exact: the partial hours at the window's edges
/// come from the rows themselves.
extension Ledger {
    static let hour = 3600.0

    struct ModelHour: Hashable {
        var bucket: Int
        var model: String
    }

    /// Adds a flush's rows to their hours, and drops hours past retention.
    static func writeModelHours(
        _ rows: [(LedgerRecord, spent: Double, saved: Double, savedByCompression: Double)], cutoff: Double, db: Database
    ) throws {
        var sums: [ModelHour: ModelTotals] = [:]
        for (record, spent, saved, savedByCompression) in rows where record.time >= 0 && record.time < 1e15 {
            let key = ModelHour(bucket: Int(record.time / hour) * Int(hour), model: record.model)
            sums[key, default: ModelTotals()].add(record, spent: spent, saved: saved, savedByCompression: savedByCompression)
        }
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO ledger_model_hours (bucket, model, requests, hits, misses, input_tokens, output_tokens,
                                                cached_input_tokens, saved_tokens, saved_compression_tokens, spent_usd, saved_usd,
                                                saved_compression_usd)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (bucket, model) DO UPDATE SET \(addModelTotals)
                """)
        for (key, t) in sums {
            try upsert.execute(arguments: [
                key.bucket, key.model, t.requests, t.hits, t.misses, t.inputTokens, t.outputTokens, t.cachedInputTokens, t.savedTokens,
                t.savedCompressionTokens, t.spentUSD, t.savedUSD, t.savedCompressionUSD,
            ])
        }
        try db.execute(sql: "DELETE FROM ledger_model_hours WHERE bucket <= ?", arguments: [cutoff - hour])
    }

    /// Per-model sums of the requests at or after `since`: whole hours from their sums,
    /// the partial hours at either edge from the rows.
    static func windowTotals(_ db: Database, since: Double, now: Double) throws -> [String: ModelTotals] {
        let firstWhole = (since / hour).rounded(.up) * hour
        let lastWhole = (now / hour).rounded(.down) * hour
        var totals: [String: ModelTotals] = [:]
        func add(_ rows: [Row]) {
            for row in rows {
                let model: String = row[0] ?? ""
                totals[model, default: ModelTotals()].add(totalsByPosition(row))
            }
        }
        guard since.isFinite, now.isFinite, firstWhole < lastWhole else {
            add(try rows(db, from: since, to: .infinity))
            return totals
        }
        add(try rows(db, from: since, to: firstWhole))
        add(
            try Row.fetchAll(
                db,
                sql: """
                    SELECT model, sum(requests), sum(hits), sum(misses), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens),
                           sum(saved_tokens), sum(saved_compression_tokens), sum(spent_usd), sum(saved_usd), sum(saved_compression_usd)
                    FROM ledger_model_hours WHERE bucket >= ? AND bucket < ? GROUP BY model
                    """, arguments: [firstWhole, lastWhole]))
        add(try rows(db, from: lastWhole, to: .infinity))
        return totals
    }

    /// Per-model sums of the rows with `from <= time < to`, columns as `ledger_model_hours`'s.
    private static func rows(_ db: Database, from: Double, to: Double) throws -> [Row] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT model, count(*), sum(outcome = 'hit'), sum(outcome = 'miss'),
                       sum(CASE WHEN outcome = 'hit' THEN 0 ELSE prompt_tokens END),
                       sum(CASE WHEN outcome = 'hit' THEN 0 ELSE completion_tokens END),
                       sum(CASE WHEN outcome = 'hit' THEN 0 ELSE cached_prompt_tokens END),
                       sum(saved_cache_tokens + saved_compression_tokens), sum(saved_compression_tokens),
                       sum(spent_usd), sum(saved_usd), sum(saved_compression_usd)
                FROM ledger WHERE time >= ? AND time < ? GROUP BY model
                """, arguments: [from, to.isFinite ? to : Double.greatestFiniteMagnitude])
    }

    private static func totalsByPosition(_ row: Row) -> ModelTotals {
        var t = ModelTotals()
        t.requests = row[1] ?? 0
        t.hits = row[2] ?? 0
        t.misses = row[3] ?? 0
        t.inputTokens = row[4] ?? 0
        t.outputTokens = row[5] ?? 0
        t.cachedInputTokens = row[6] ?? 0
        t.savedTokens = row[7] ?? 0
        t.savedCompressionTokens = row[8] ?? 0
        t.spentUSD = row[9] ?? 0
        t.savedUSD = row[10] ?? 0
        t.savedCompressionUSD = row[11] ?? 0
        return t.normalized()
    }
}

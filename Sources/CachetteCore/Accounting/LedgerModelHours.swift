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
        _ rows: [(LedgerRecord, Booking)], cutoff: Double, db: Database
    ) throws {
        var sums: [ModelHour: ModelTotals] = [:]
        for (record, booking) in rows where record.time >= 0 && record.time < 1e15 {
            let key = ModelHour(bucket: Int(record.time / hour) * Int(hour), model: record.model)
            sums[key, default: ModelTotals()].add(record, booking)
        }
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO ledger_model_hours (bucket, model, \(modelTotalsColumns))
                VALUES (?, ?, \(modelTotalsPlaceholders))
                ON CONFLICT (bucket, model) DO UPDATE SET \(addModelTotals)
                """)
        for (key, t) in sums {
            try upsert.execute(arguments: StatementArguments([key.bucket, key.model] + t.columnValues))
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
                    SELECT model, \(modelTotalsSums)
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
                       sum(spent_usd), sum(saved_usd), sum(saved_compression_usd),
                       sum(CASE WHEN outcome = 'hit' THEN 0 ELSE cache_write_tokens END),
                       sum(provider_read_savings_usd), sum(provider_write_premium_usd)
                FROM ledger WHERE time >= ? AND time < ? GROUP BY model
                """, arguments: [from, to.isFinite ? to : Double.greatestFiniteMagnitude])
    }

    private static func totalsByPosition(_ row: Row) -> ModelTotals {
        ModelTotals(columns: (1..<row.count).map { row[$0] as DatabaseValue? ?? .null })
    }
}

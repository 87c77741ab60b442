import Foundation
import PostgresNIO

/// The cluster ledger (`shared.ledger`): every replica's booked requests in one table,
/// written with the cache's batches, summed for `/stats?scope=cluster`.
extension PostgresTier: LedgerSink {
    struct LedgerRow {
        var record: LedgerRecord
        var spent: Double
        var saved: Double
        var savedByCompression: Double
    }

    /// Rows kept while PostgreSQL is away; older ones are dropped first.
    static let maxQueuedLedgerRows = 100_000

    public func book(_ record: LedgerRecord, spent: Double, saved: Double, savedByCompression: Double) {
        queue.withLock { q in
            if q.ledger.count >= Self.maxQueuedLedgerRows { q.ledger.removeFirst(q.ledger.count / 2) }
            q.ledger.append(LedgerRow(record: record, spent: spent, saved: saved, savedByCompression: savedByCompression))
        }
        // Rows ride along with the next batch of entries, or the writer's periodic wake-up.
    }

    /// Multi-row INSERTs of the cluster ledger; a failed batch is put back for the next try.
    func writeLedger(_ rows: [LedgerRow]) async {
        guard !rows.isEmpty else { return }
        do {
            try await withDeadline(writeTimeout, on: loop) { [self] in
                for start in stride(from: 0, to: rows.count, by: Self.rowsPerInsert) {
                    try await client.query(ledgerInsert(rows[start..<min(start + Self.rowsPerInsert, rows.count)]), logger: logger)
                }
            }
        } catch {
            counters.errors.bump()
            queue.withLock { q in
                q.ledger = Array((rows + q.ledger).suffix(Self.maxQueuedLedgerRows))
            }
            markDown(error, doing: "writing the ledger")
        }
    }

    private func ledgerInsert(_ rows: ArraySlice<LedgerRow>) -> PostgresQuery {
        var sql = """
            INSERT INTO cachette_ledger (replica, time, route, model, outcome, prompt_tokens, completion_tokens, cached_prompt_tokens,
                saved_compression_tokens, spent_usd, saved_usd, saved_compression_usd) VALUES 
            """
        var binds = PostgresBindings(capacity: rows.count * 12)
        for (index, row) in rows.enumerated() {
            let first = index * 12
            sql += (index == 0 ? "(" : ", (") + (1...12).map { "$\(first + $0)" }.joined(separator: ", ") + ")"
            let r = row.record
            binds.append(replica)
            binds.append(r.time)
            binds.append(r.route)
            binds.append(r.model)
            binds.append(r.outcome.rawValue)
            binds.append(r.promptTokens)
            binds.append(r.completionTokens)
            binds.append(r.cachedPromptTokens)
            binds.append(r.savedCompressionTokens)
            binds.append(row.spent)
            binds.append(row.saved)
            binds.append(row.savedByCompression)
        }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// What the cluster's replicas booked in `window`, per model, and how many replicas
    /// booked it. `all` reaches back as far as the rows are kept (`ledger.retention`).
    public func clusterTotals(_ window: LedgerWindow, now: Double = Date().timeIntervalSince1970) async throws
        -> (models: [String: ModelTotals], replicas: Int)
    {
        guard isUp else { throw SharedTierError.unavailable }
        let since = window.seconds.map { now - $0 } ?? -Double.greatestFiniteMagnitude
        return try await withDeadline(max(options.timeout, .seconds(10)), on: loop) { [self] in
            // This replica's own rows first, so its latest requests count.
            await writeLedger(
                queue.withLock { q in
                    defer { q.ledger = [] }
                    return q.ledger
                })
            var models: [String: ModelTotals] = [:]
            let rows = try await client.query(
                """
                SELECT model, count(*), count(*) FILTER (WHERE outcome = 'hit'),
                       coalesce(sum(prompt_tokens) FILTER (WHERE outcome <> 'hit'), 0)::bigint,
                       coalesce(sum(completion_tokens) FILTER (WHERE outcome <> 'hit'), 0)::bigint,
                       coalesce(sum(cached_prompt_tokens) FILTER (WHERE outcome <> 'hit'), 0)::bigint,
                       coalesce(sum(prompt_tokens + completion_tokens) FILTER (WHERE outcome = 'hit'), 0)::bigint,
                       sum(saved_compression_tokens)::bigint, sum(spent_usd), sum(saved_usd), sum(saved_compression_usd)
                FROM cachette_ledger WHERE time >= \(since) GROUP BY model
                """, logger: logger)
            for try await (model, requests, hits, input, output, cached, savedCache, savedCompression, spent, saved, savedByCompression)
                in rows
                .decode((String, Int, Int, Int, Int, Int, Int, Int, Double, Double, Double).self)
            {
                var t = ModelTotals()
                t.requests = requests
                t.hits = hits
                t.inputTokens = input
                t.outputTokens = output
                t.cachedInputTokens = cached
                t.savedTokens = savedCache + savedCompression
                t.savedCompressionTokens = savedCompression
                t.spentUSD = spent
                t.savedUSD = saved
                t.savedCompressionUSD = savedByCompression
                models[model] = t
            }
            var replicas = 0
            for try await count in try await client.query(
                "SELECT count(DISTINCT replica) FROM cachette_ledger WHERE time >= \(since)", logger: logger
            ).decode(Int.self) {
                replicas = count
            }
            return (models, replicas)
        }
    }
}

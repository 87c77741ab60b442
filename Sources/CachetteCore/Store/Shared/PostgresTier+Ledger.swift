import Foundation
import PostgresNIO

/// The cluster ledger (`shared.ledger`): every replica's booked requests, summed per
/// second, route, model and outcome before they leave the replica. A replica serving
/// 10,000 requests a second writes a few rows a second, not 10,000; a window's edge is
/// exact to the second.
extension PostgresTier: LedgerSink {
    struct LedgerBucket: Hashable {
        /// Whole Unix seconds.
        var second: Int64
        var route: String
        var model: String
        var outcome: String
    }

    struct LedgerSums {
        var requests = 0
        var promptTokens = 0
        var completionTokens = 0
        var cachedPromptTokens = 0
        var savedCompressionTokens = 0
        var spent = 0.0
        var saved = 0.0
        var savedByCompression = 0.0
        var cacheWriteTokens = 0
        var providerReadSavings = 0.0
        var providerWritePremium = 0.0

        mutating func add(_ other: LedgerSums) {
            requests = requests.addingSaturated(other.requests)
            promptTokens = promptTokens.addingSaturated(other.promptTokens)
            completionTokens = completionTokens.addingSaturated(other.completionTokens)
            cachedPromptTokens = cachedPromptTokens.addingSaturated(other.cachedPromptTokens)
            savedCompressionTokens = savedCompressionTokens.addingSaturated(other.savedCompressionTokens)
            spent += other.spent
            saved += other.saved
            savedByCompression += other.savedByCompression
            cacheWriteTokens = cacheWriteTokens.addingSaturated(other.cacheWriteTokens)
            providerReadSavings += other.providerReadSavings
            providerWritePremium += other.providerWritePremium
        }
    }

    /// Buckets kept while PostgreSQL is away; the oldest half goes when full.
    static let maxQueuedLedgerBuckets = 100_000
    /// Buckets per INSERT: 16 binds each stays far below PostgreSQL's 65,535.
    static let bucketsPerInsert = 1000

    public func book(_ record: LedgerRecord, _ booking: Ledger.Booking) {
        guard record.time >= 0, record.time < 1e15 else { return }
        let bucket = LedgerBucket(
            second: Int64(record.time.rounded(.down)), route: record.route, model: record.model, outcome: record.outcome.rawValue)
        let sums = LedgerSums(
            requests: 1, promptTokens: record.promptTokens, completionTokens: record.completionTokens,
            cachedPromptTokens: record.cachedPromptTokens, savedCompressionTokens: record.savedCompressionTokens, spent: booking.spent,
            saved: booking.saved, savedByCompression: booking.savedByCompression,
            cacheWriteTokens: record.outcome == .hit ? 0 : record.cacheWritePromptTokens, providerReadSavings: booking.providerReadSavings,
            providerWritePremium: booking.providerWritePremium)
        queue.withLock { q in q.addLedger(bucket, sums) }
        // Buckets ride along with the next batch of entries, or the writer's periodic wake-up.
    }

    /// Adds each bucket to its row (`ON CONFLICT DO UPDATE`): a second's requests may
    /// arrive in several batches. A failed batch is put back for the next try.
    func writeLedger(_ buckets: [LedgerBucket: LedgerSums]) async {
        guard !buckets.isEmpty else { return }
        let rows = Array(buckets)
        do {
            try await withDeadline(writeTimeout, on: loop) { [self] in
                for start in stride(from: 0, to: rows.count, by: Self.bucketsPerInsert) {
                    try await client.query(ledgerInsert(rows[start..<min(start + Self.bucketsPerInsert, rows.count)]), logger: logger)
                }
            }
        } catch {
            counters.errors.bump()
            queue.withLock { q in q.addLedger(buckets) }
            markDown(error, doing: "writing the ledger")
        }
    }

    private func ledgerInsert(_ rows: ArraySlice<(key: LedgerBucket, value: LedgerSums)>) -> PostgresQuery {
        var sql = """
            INSERT INTO cachette_ledger_buckets AS b (second, replica, route, model, outcome, requests, prompt_tokens, completion_tokens,
                cached_prompt_tokens, saved_compression_tokens, spent_usd, saved_usd, saved_compression_usd, cache_write_tokens,
                provider_read_savings_usd, provider_write_premium_usd) VALUES 
            """
        var binds = PostgresBindings(capacity: rows.count * 16)
        for (index, (bucket, sums)) in rows.enumerated() {
            let first = index * 16
            sql += (index == 0 ? "(" : ", (") + (1...16).map { "$\(first + $0)" }.joined(separator: ", ") + ")"
            binds.append(Double(bucket.second))
            binds.append(replica)
            binds.append(bucket.route)
            binds.append(bucket.model)
            binds.append(bucket.outcome)
            binds.append(sums.requests)
            binds.append(sums.promptTokens)
            binds.append(sums.completionTokens)
            binds.append(sums.cachedPromptTokens)
            binds.append(sums.savedCompressionTokens)
            binds.append(sums.spent)
            binds.append(sums.saved)
            binds.append(sums.savedByCompression)
            binds.append(sums.cacheWriteTokens)
            binds.append(sums.providerReadSavings)
            binds.append(sums.providerWritePremium)
        }
        sql += """
             ON CONFLICT (second, replica, route, model, outcome) DO UPDATE SET
                requests = b.requests + excluded.requests, prompt_tokens = b.prompt_tokens + excluded.prompt_tokens,
                completion_tokens = b.completion_tokens + excluded.completion_tokens,
                cached_prompt_tokens = b.cached_prompt_tokens + excluded.cached_prompt_tokens,
                saved_compression_tokens = b.saved_compression_tokens + excluded.saved_compression_tokens,
                spent_usd = b.spent_usd + excluded.spent_usd, saved_usd = b.saved_usd + excluded.saved_usd,
                saved_compression_usd = b.saved_compression_usd + excluded.saved_compression_usd,
                cache_write_tokens = b.cache_write_tokens + excluded.cache_write_tokens,
                provider_read_savings_usd = b.provider_read_savings_usd + excluded.provider_read_savings_usd,
                provider_write_premium_usd = b.provider_write_premium_usd + excluded.provider_write_premium_usd
            """
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
                    defer { q.ledger = [:] }
                    return q.ledger
                })
            var models: [String: ModelTotals] = [:]
            // Rows a replica older than the buckets booked one by one still count.
            let rows = try await client.query(
                """
                WITH booked AS (
                    SELECT replica, model, outcome, requests, prompt_tokens, completion_tokens, cached_prompt_tokens,
                           saved_compression_tokens, spent_usd, saved_usd, saved_compression_usd, cache_write_tokens,
                           provider_read_savings_usd, provider_write_premium_usd
                    FROM cachette_ledger_buckets WHERE second >= floor(\(since)::float8)
                    UNION ALL
                    SELECT replica, model, outcome, 1, prompt_tokens, completion_tokens, cached_prompt_tokens,
                           saved_compression_tokens, spent_usd, saved_usd, saved_compression_usd, 0, 0, 0
                    FROM cachette_ledger WHERE time >= \(since)
                )
                SELECT model, sum(requests)::bigint, coalesce(sum(requests) FILTER (WHERE outcome = 'hit'), 0)::bigint,
                       coalesce(sum(requests) FILTER (WHERE outcome = 'miss'), 0)::bigint,
                       coalesce(sum(prompt_tokens) FILTER (WHERE outcome <> 'hit'), 0)::bigint,
                       coalesce(sum(completion_tokens) FILTER (WHERE outcome <> 'hit'), 0)::bigint,
                       coalesce(sum(cached_prompt_tokens) FILTER (WHERE outcome <> 'hit'), 0)::bigint,
                       coalesce(sum(prompt_tokens + completion_tokens) FILTER (WHERE outcome = 'hit'), 0)::bigint,
                       sum(saved_compression_tokens)::bigint, sum(spent_usd), sum(saved_usd), sum(saved_compression_usd),
                       coalesce(sum(cache_write_tokens) FILTER (WHERE outcome <> 'hit'), 0)::bigint,
                       sum(provider_read_savings_usd)::float8, sum(provider_write_premium_usd)::float8
                FROM booked GROUP BY model
                """, logger: logger)
            for try await (
                model, requests, hits, misses, input, output, cached, savedCache, savedCompression, spent, saved, savedByCompression, written,
                readSavings, writePremium
            ) in rows.decode((String, Int, Int, Int, Int, Int, Int, Int, Int, Double, Double, Double, Int, Double, Double).self) {
                var t = ModelTotals()
                t.requests = requests
                t.hits = hits
                t.misses = misses
                t.inputTokens = input
                t.outputTokens = output
                t.cachedInputTokens = cached
                t.savedTokens = savedCache.addingSaturated(savedCompression)
                t.savedCompressionTokens = savedCompression
                t.spentUSD = spent
                t.savedUSD = saved
                t.savedCompressionUSD = savedByCompression
                t.cacheWriteInputTokens = written
                t.providerCacheReadSavingsUSD = readSavings
                t.providerCacheWritePremiumUSD = writePremium
                // Any replica, or anyone with the database's password, writes these rows.
                t = t.normalized()
                models[model, default: ModelTotals()].add(t)
            }
            var replicas = 0
            for try await count in try await client.query(
                """
                SELECT count(DISTINCT replica) FROM (
                    SELECT replica FROM cachette_ledger_buckets WHERE second >= floor(\(since)::float8)
                    UNION ALL SELECT replica FROM cachette_ledger WHERE time >= \(since)
                ) AS booked
                """, logger: logger
            ).decode(Int.self) {
                replicas = count
            }
            return (models, replicas)
        }
    }
}

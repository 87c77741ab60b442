import CachetteCore
import Foundation
import PostgresNIO

/// Writing the buckets, and reading the cluster's totals back.
extension ClusterLedger {
    /// Adds each pending bucket to its row (`ON CONFLICT DO UPDATE`): a second's
    /// requests may arrive in several batches. A failed write is put back for the next
    /// try. Run with each of the tier's batches, and before a cluster read.
    func writePending() async {
        let buckets = pending.withLock { pending in
            defer { pending = [:] }
            return pending
        }
        guard !buckets.isEmpty else { return }
        let rows = Array(buckets)
        let tier = tier
        do {
            try await withDeadline(tier.writeTimeout, on: tier.loop) {
                for start in stride(from: 0, to: rows.count, by: Self.bucketsPerInsert) {
                    let slice = rows[start..<min(start + Self.bucketsPerInsert, rows.count)]
                    try await tier.client.query(Self.insert(slice, replica: tier.replica), logger: tier.logger)
                }
            }
        } catch {
            tier.counters.errors.bump()
            pending.withLock { pending in
                for (bucket, sums) in buckets { Self.add(bucket, sums, to: &pending) }
            }
            tier.markDown(error, doing: "writing the ledger")
        }
    }

    private static func insert(_ rows: ArraySlice<(key: Bucket, value: Sums)>, replica: String) -> PostgresQuery {
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
    package func totals(_ window: LedgerWindow, now: Double = Date().timeIntervalSince1970) async throws
        -> (models: [String: ModelTotals], replicas: Int)
    {
        guard tier.isUp else { throw SharedTierError.unavailable }
        let since = window.seconds.map { now - $0 } ?? -Double.greatestFiniteMagnitude
        let (client, logger) = (tier.client, tier.logger)
        return try await withDeadline(max(tier.options.timeout, .seconds(10)), on: tier.loop) { [self, tier] in
            // This replica's own rows first, so its latest requests count.
            await self.writePending()
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

import CachetteCore
import Foundation
import PostgresNIO

extension PostgresTier {
    /// Every `pruneInterval`, the replica that wins `pg_try_advisory_xact_lock` removes
    /// entries past TTL and stale window, then the least recently used ones over
    /// `maxBytes`. The others skip the run.
    func runPruner() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: options.pruneInterval)
            guard isUp else { continue }
            do {
                // A run over a large table may take a while; one that never ends must not.
                try await withDeadline(max(options.pruneInterval, .seconds(60)), on: loop) { [self] in
                    try await prune(now: Date().timeIntervalSince1970)
                }
            } catch {
                counters.errors.bump()
                logger.warning("shared tier pruning failed", metadata: ["error": "\(options.url.redact("\(error)"))"])
            }
        }
    }

    /// One pruning run, if no other replica is running one. Returns the entries removed,
    /// or nil when another replica held the lock.
    @discardableResult
    package func prune(now: Double) async throws -> Int? {
        let budget = options.maxBytes
        return try await client.withTransaction(logger: logger) { [self] connection -> Int? in
            var won = false
            for try await locked in try await connection.query("SELECT pg_try_advisory_xact_lock(\(SharedSchema.pruneLock))", logger: logger)
                .decode(Bool.self)
            {
                won = locked
            }
            guard won else { return nil }
            var removed = 0
            for try await count in try await connection.query(
                """
                WITH gone AS (DELETE FROM cachette_entries WHERE keep_until < \(now) RETURNING 1) SELECT count(*) FROM gone
                """, logger: logger
            ).decode(Int.self) {
                removed += count
            }
            // Newest first: whatever lies past the budget in that order goes.
            for try await count in try await connection.query(
                """
                WITH ranked AS (
                    SELECT key, sum(stored_size) OVER (ORDER BY accessed_at DESC, key) AS running FROM cachette_entries
                ), gone AS (
                    DELETE FROM cachette_entries AS e USING ranked AS r WHERE e.key = r.key AND r.running > \(budget) RETURNING 1
                )
                SELECT count(*) FROM gone
                """, logger: logger
            ).decode(Int.self) {
                removed += count
            }
            let kept = now - options.ledgerRetention.seconds
            try await connection.query("DELETE FROM cachette_ledger_buckets WHERE second < \(kept)", logger: logger)
            try await connection.query("DELETE FROM cachette_ledger WHERE time < \(kept)", logger: logger)
            // Flights whose leader vanished long ago.
            try await connection.query("DELETE FROM cachette_flights WHERE deadline < \(now - 60)", logger: logger)
            counters.pruneRuns.bump()
            counters.pruned.bump(removed)
            return removed
        }
    }

    /// Entries and stored bytes in the shared tier.
    package func totals() async throws -> (entries: Int, bytes: Int) {
        for try await (entries, bytes) in try await client.query(
            "SELECT count(*), coalesce(sum(stored_size), 0)::bigint FROM cachette_entries", logger: logger
        ).decode((Int, Int).self) {
            return (entries, bytes)
        }
        return (0, 0)
    }
}

import CachetteCore
import Logging
import PostgresNIO

/// The shared tier's tables, created and upgraded by numbered migrations. Every replica
/// runs them on start, one at a time: the first holds a transaction-scoped advisory
/// lock while it applies what is missing, the others then find nothing to do.
enum SharedSchema {
    /// `pg_advisory_xact_lock` keys; arbitrary, fixed, and ours ("CACH", "PRUN").
    static let migrationLock: Int64 = 0x4341_4348_0000_0001
    static let pruneLock: Int64 = 0x5052_554E_0000_0001
    /// The channel a leader's finished flights are announced on; the payload is the key's hex.
    static let flightChannel = "cachette_flights"

    /// Accounted on top of each stored body for the row, its index entries and TOAST.
    static let rowOverhead = 160

    /// Version N is `migrations[N - 1]`. Append only: a replica skips what is applied.
    static func migrations(unlogged: Bool) -> [[String]] {
        let table = unlogged ? "UNLOGGED TABLE" : "TABLE"
        return [
            [
                """
                CREATE \(table) IF NOT EXISTS cachette_entries (
                    key bytea PRIMARY KEY,
                    route text NOT NULL,
                    model text NOT NULL,
                    status integer NOT NULL,
                    content_type text NOT NULL,
                    body bytea NOT NULL,
                    events bytea,
                    prompt_tokens bigint NOT NULL,
                    completion_tokens bigint NOT NULL,
                    cached_prompt_tokens bigint NOT NULL,
                    cache_write_prompt_tokens bigint NOT NULL,
                    created_at double precision NOT NULL,
                    expires_at double precision NOT NULL,
                    keep_until double precision NOT NULL,
                    accessed_at double precision NOT NULL,
                    stored_size bigint NOT NULL
                )
                """,
                "CREATE INDEX IF NOT EXISTS cachette_entries_accessed_at ON cachette_entries (accessed_at)",
                "CREATE INDEX IF NOT EXISTS cachette_entries_keep_until ON cachette_entries (keep_until)",
                """
                CREATE \(table) IF NOT EXISTS cachette_flights (
                    key bytea PRIMARY KEY,
                    owner text NOT NULL,
                    deadline double precision NOT NULL
                )
                """,
                """
                CREATE \(table) IF NOT EXISTS cachette_ledger (
                    id bigserial PRIMARY KEY,
                    replica text NOT NULL,
                    time double precision NOT NULL,
                    route text NOT NULL,
                    model text NOT NULL,
                    outcome text NOT NULL,
                    prompt_tokens bigint NOT NULL,
                    completion_tokens bigint NOT NULL,
                    cached_prompt_tokens bigint NOT NULL,
                    saved_compression_tokens bigint NOT NULL,
                    spent_usd double precision NOT NULL,
                    saved_usd double precision NOT NULL,
                    saved_compression_usd double precision NOT NULL
                )
                """,
                "CREATE INDEX IF NOT EXISTS cachette_ledger_time ON cachette_ledger (time)",
                """
                CREATE TABLE IF NOT EXISTS cachette_replicas (
                    replica text PRIMARY KEY,
                    started_at double precision NOT NULL,
                    seen_at double precision NOT NULL
                )
                """,
            ],
            [
                // The cluster ledger summed per second (`cachette_ledger` took a row per
                // request, and a busy replica could not write them as fast as it served).
                """
                CREATE \(table) IF NOT EXISTS cachette_ledger_buckets (
                    second double precision NOT NULL,
                    replica text NOT NULL,
                    route text NOT NULL,
                    model text NOT NULL,
                    outcome text NOT NULL,
                    requests bigint NOT NULL,
                    prompt_tokens bigint NOT NULL,
                    completion_tokens bigint NOT NULL,
                    cached_prompt_tokens bigint NOT NULL,
                    saved_compression_tokens bigint NOT NULL,
                    spent_usd double precision NOT NULL,
                    saved_usd double precision NOT NULL,
                    saved_compression_usd double precision NOT NULL,
                    PRIMARY KEY (second, replica, route, model, outcome)
                )
                """
            ],
            [
                // The provider's prompt cache: its writes and its dollars (issue 29).
                """
                ALTER TABLE cachette_ledger_buckets
                    ADD COLUMN IF NOT EXISTS cache_write_tokens bigint NOT NULL DEFAULT 0,
                    ADD COLUMN IF NOT EXISTS provider_read_savings_usd double precision NOT NULL DEFAULT 0,
                    ADD COLUMN IF NOT EXISTS provider_write_premium_usd double precision NOT NULL DEFAULT 0
                """
            ],
        ]
    }

    /// Applies the missing migrations under the advisory lock; returns the version now in force.
    @discardableResult
    static func migrate(_ client: PostgresClient, unlogged: Bool, logger: Logger) async throws -> Int {
        let all = migrations(unlogged: unlogged)
        return try await client.withTransaction(logger: logger) { connection -> Int in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS cachette_migrations (
                    version integer PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var applied = 0
            for try await version in try await connection.query("SELECT coalesce(max(version), 0) FROM cachette_migrations", logger: logger)
                .decode(Int.self)
            {
                applied = version
            }
            guard applied <= all.count else {
                throw SharedTierError.schemaTooNew(found: applied, known: all.count)
            }
            for (index, statements) in all.enumerated() where index + 1 > applied {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO cachette_migrations (version) VALUES (\(index + 1))", logger: logger)
                logger.info("shared tier schema migrated", metadata: ["version": "\(index + 1)"])
            }
            return all.count
        }
    }
}

enum SharedTierError: Error, CustomStringConvertible {
    case unavailable
    case schemaTooNew(found: Int, known: Int)

    var description: String {
        switch self {
        case .unavailable: "the shared tier is unavailable"
        case .schemaTooNew(let found, let known):
            "the shared database's schema is version \(found); this sidecar knows up to \(known): upgrade it"
        }
    }
}

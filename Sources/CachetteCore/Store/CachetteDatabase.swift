import Foundation
import GRDB
import Logging

/// The sidecar's SQLite file: one connection pool and one schema, shared by the cache
/// store, the ledger and the counters. Opened in WAL mode, its migrations run on open.
/// A file that is not a database, or is damaged, is moved aside and replaced by a
/// fresh one: a cache can always be rebuilt, and the sidecar must come up.
public final class CachetteDatabase: Sendable {
    public let path: String
    let pool: DatabasePool

    public init(path: String, logger: Logger) throws {
        self.path = path
        pool = try Self.open(path: path, logger: logger)
    }

    private static func open(path: String, logger: Logger) throws -> DatabasePool {
        try PrivateFile.createDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        do {
            return try openAndMigrate(path: path)
        } catch let error as DatabaseError where isDamage(error) && FileManager.default.fileExists(atPath: path) {
            let aside = path + ".corrupt-" + String(Int(Date().timeIntervalSince1970))
            logger.warning(
                "cache database is unreadable; moving it aside and starting a fresh one",
                metadata: ["path": "\(path)", "moved_to": "\(aside)", "sqlite_error": "\(error.resultCode)"]
            )
            try FileManager.default.moveItem(atPath: path, toPath: aside)
            for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                try? FileManager.default.moveItem(atPath: path + suffix, toPath: aside + suffix)
            }
            return try openAndMigrate(path: path)
        }
    }

    private static func isDamage(_ error: DatabaseError) -> Bool {
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_FORMAT: true
        default: false
        }
    }

    private static func openAndMigrate(path: String) throws -> DatabasePool {
        // SQLite would create it 0644; its WAL and shared-memory files take its mode.
        try PrivateFile.createIfMissing(path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = 8
        configuration.prepareDatabase { db in
            // WAL with NORMAL sync loses at most the last commits on power loss, never consistency.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try migrator.migrate(pool)
        // Touch the data so a damaged file fails here, not on the first request.
        _ = try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM entries") }
        return pool
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE entries (
                        key BLOB NOT NULL PRIMARY KEY,
                        route TEXT NOT NULL,
                        model TEXT NOT NULL,
                        status INTEGER NOT NULL,
                        content_type TEXT NOT NULL,
                        body BLOB NOT NULL,
                        raw_size INTEGER NOT NULL,
                        stored_size INTEGER NOT NULL,
                        created_at REAL NOT NULL,
                        accessed_at REAL NOT NULL,
                        expires_at REAL NOT NULL,
                        prompt_tokens INTEGER NOT NULL DEFAULT 0,
                        completion_tokens INTEGER NOT NULL DEFAULT 0,
                        hit_count INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX entries_by_access ON entries(accessed_at);
                    CREATE INDEX entries_by_expiry ON entries(expires_at);
                    CREATE TABLE counters (
                        name TEXT NOT NULL PRIMARY KEY,
                        value INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2: recorded streams") { db in
            // zstd of `RecordedStream.encoded()`; null for answers that were not streamed.
            try db.execute(sql: "ALTER TABLE entries ADD COLUMN events BLOB")
        }
        migrator.registerMigration("v3: ledger") { db in
            try db.execute(
                sql: """
                    CREATE TABLE ledger (
                        time REAL NOT NULL,
                        route TEXT NOT NULL,
                        model TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        prompt_tokens INTEGER NOT NULL,
                        completion_tokens INTEGER NOT NULL,
                        cached_prompt_tokens INTEGER NOT NULL,
                        saved_cache_tokens INTEGER NOT NULL,
                        saved_compression_tokens INTEGER NOT NULL,
                        prompt_tokens_before_compression INTEGER NOT NULL,
                        counted INTEGER NOT NULL,
                        latency_ms REAL NOT NULL,
                        spent_usd REAL NOT NULL,
                        saved_usd REAL NOT NULL,
                        saved_compression_usd REAL NOT NULL
                    );
                    CREATE INDEX ledger_by_time ON ledger(time);
                    CREATE TABLE model_totals (
                        model TEXT NOT NULL PRIMARY KEY,
                        requests INTEGER NOT NULL,
                        hits INTEGER NOT NULL,
                        input_tokens INTEGER NOT NULL,
                        output_tokens INTEGER NOT NULL,
                        cached_input_tokens INTEGER NOT NULL,
                        saved_tokens INTEGER NOT NULL,
                        saved_compression_tokens INTEGER NOT NULL,
                        spent_usd REAL NOT NULL,
                        saved_usd REAL NOT NULL,
                        saved_compression_usd REAL NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v4: ledger rollup") { db in
            // Per minute and per hour sums of the ledger, for /stats/series: a month of
            // requests at any rate is at most 43,200 minutes and 720 hours per outcome.
            try db.execute(
                sql: """
                    CREATE TABLE ledger_rollup (
                        resolution INTEGER NOT NULL,
                        bucket INTEGER NOT NULL,
                        outcome TEXT NOT NULL,
                        requests INTEGER NOT NULL,
                        saved_cache_tokens INTEGER NOT NULL,
                        saved_compression_tokens INTEGER NOT NULL,
                        spent_usd REAL NOT NULL,
                        saved_cache_usd REAL NOT NULL,
                        saved_compression_usd REAL NOT NULL,
                        PRIMARY KEY (resolution, bucket, outcome)
                    ) WITHOUT ROWID;
                    """)
            for resolution in Ledger.rollupResolutions {
                try db.execute(
                    sql: """
                        INSERT INTO ledger_rollup
                        SELECT ?, CAST(time / ? AS INTEGER) * ?, outcome, count(*), sum(saved_cache_tokens),
                               sum(saved_compression_tokens), sum(spent_usd), sum(saved_usd - saved_compression_usd),
                               sum(saved_compression_usd)
                        FROM ledger GROUP BY 2, 3
                        """, arguments: [resolution, resolution, resolution])
            }
        }
        migrator.registerMigration("v5: entries by creation") { db in
            // The dashboard asks for the oldest entry every few seconds: an index read, not a scan.
            try db.execute(sql: "CREATE INDEX entries_by_creation ON entries(created_at)")
        }
        migrator.registerMigration("v6: ledger per model and hour") { db in
            // /stats's windows from hourly sums plus their two partial hours of rows: a
            // week is at most 168 rows per model, not a week of requests.
            try db.execute(
                sql: """
                    CREATE TABLE ledger_model_hours (
                        bucket INTEGER NOT NULL,
                        model TEXT NOT NULL,
                        requests INTEGER NOT NULL,
                        hits INTEGER NOT NULL,
                        input_tokens INTEGER NOT NULL,
                        output_tokens INTEGER NOT NULL,
                        cached_input_tokens INTEGER NOT NULL,
                        saved_tokens INTEGER NOT NULL,
                        saved_compression_tokens INTEGER NOT NULL,
                        spent_usd REAL NOT NULL,
                        saved_usd REAL NOT NULL,
                        saved_compression_usd REAL NOT NULL,
                        PRIMARY KEY (bucket, model)
                    ) WITHOUT ROWID;
                    INSERT INTO ledger_model_hours
                    SELECT CAST(time / 3600 AS INTEGER) * 3600, model, count(*), sum(outcome = 'hit'),
                           sum(CASE WHEN outcome = 'hit' THEN 0 ELSE prompt_tokens END),
                           sum(CASE WHEN outcome = 'hit' THEN 0 ELSE completion_tokens END),
                           sum(CASE WHEN outcome = 'hit' THEN 0 ELSE cached_prompt_tokens END),
                           sum(saved_cache_tokens + saved_compression_tokens), sum(saved_compression_tokens),
                           sum(spent_usd), sum(saved_usd), sum(saved_compression_usd)
                    FROM ledger GROUP BY 1, 2;
                    """)
        }
        migrator.registerMigration("v7: misses per model") { db in
            // The hit ratio is hits / (hits + misses) everywhere, so the per-model sums
            // need misses. Hours are summed from their rows exactly. All-time sums older
            // than the rows kept cannot be split by outcome: what is not a hit, nor a
            // kept row of another outcome, is taken as a miss (before this version the
            // ledger booked hit, stale, miss, bypass and error only).
            try db.execute(
                sql: """
                    ALTER TABLE model_totals ADD COLUMN misses INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE ledger_model_hours ADD COLUMN misses INTEGER NOT NULL DEFAULT 0;
                    UPDATE ledger_model_hours SET misses = (
                        SELECT count(*) FROM ledger WHERE ledger.model = ledger_model_hours.model AND outcome = 'miss'
                            AND time >= ledger_model_hours.bucket AND time < ledger_model_hours.bucket + 3600);
                    UPDATE model_totals SET misses = max(0, requests - hits - (
                        SELECT count(*) FROM ledger WHERE ledger.model = model_totals.model AND outcome NOT IN ('hit', 'miss')));
                    """)
        }
        migrator.registerMigration("v8: the provider's prompt cache") { db in
            // Its writes per request, and its dollars: reads' savings and writes' premium,
            // fixed at the prices of the day like the rest. Older rows booked none.
            try db.execute(
                sql: """
                    ALTER TABLE ledger ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE ledger ADD COLUMN provider_read_savings_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE ledger ADD COLUMN provider_write_premium_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE model_totals ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE model_totals ADD COLUMN provider_read_savings_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE model_totals ADD COLUMN provider_write_premium_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE ledger_model_hours ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE ledger_model_hours ADD COLUMN provider_read_savings_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE ledger_model_hours ADD COLUMN provider_write_premium_usd REAL NOT NULL DEFAULT 0;
                    ALTER TABLE ledger_rollup ADD COLUMN saved_provider_cache_usd REAL NOT NULL DEFAULT 0;
                    """)
        }
        return migrator
    }

    // MARK: Counters

    /// The secret that keys credential fingerprints in logs: made once per database, at random.
    public func fingerprintSalt() throws -> UInt64 {
        try pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO counters (name, value) VALUES ('fingerprint_salt', ?)",
                arguments: [Int64.random(in: .min ... .max)]
            )
            return UInt64(bitPattern: try Int64.fetchOne(db, sql: "SELECT value FROM counters WHERE name = 'fingerprint_salt'") ?? 0)
        }
    }

    /// The /stats counters as last saved.
    public func loadCounters() throws -> [String: Int] {
        try pool.read(Self.counters)
    }

    static func counters(_ db: Database) throws -> [String: Int] {
        try Dictionary(Row.fetchAll(db, sql: "SELECT name, value FROM counters").map { ($0[0] as String, $0[1] as Int) }, uniquingKeysWith: { $1 })
    }

    public func saveCounters(_ values: [(String, Int)]) async throws {
        try await pool.write { db in try Self.saveCounters(db, values) }
    }

    static func saveCounters(_ db: Database, _ values: [(String, Int)]) throws {
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value
                """)
        for (name, value) in values {
            try upsert.execute(arguments: [name, value])
        }
    }
}

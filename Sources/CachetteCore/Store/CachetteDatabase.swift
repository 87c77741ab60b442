import Foundation
import GRDB
import Logging

/// The sidecar's SQLite file: one connection pool, shared by the cache store, the ledger
/// and the counters. Opened in WAL mode; the cache's and the counters' tables are
/// migrated on open, the ledger's by the ledger (`LedgerSchema`).
/// A file that is not a database, or is damaged, is moved aside and replaced by a
/// fresh one: a cache can always be rebuilt, and the sidecar must come up.
public final class CachetteDatabase: Sendable {
    public let path: String
    let pool: DatabasePool

    package init(path: String, logger: Logger) throws {
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
        migrator.registerMigration("v5: entries by creation") { db in
            // The dashboard asks for the oldest entry every few seconds: an index read, not a scan.
            try db.execute(sql: "CREATE INDEX entries_by_creation ON entries(created_at)")
        }
        return migrator
    }

    // MARK: Counters

    /// The secret that keys credential fingerprints in logs: made once per database, at random.
    package func fingerprintSalt() throws -> UInt64 {
        try pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO counters (name, value) VALUES ('fingerprint_salt', ?)",
                arguments: [Int64.random(in: .min ... .max)]
            )
            return UInt64(bitPattern: try Int64.fetchOne(db, sql: "SELECT value FROM counters WHERE name = 'fingerprint_salt'") ?? 0)
        }
    }

    /// The /stats counters as last saved.
    package func loadCounters() throws -> [String: Int] {
        try pool.read(Self.counters)
    }

    static func counters(_ db: Database) throws -> [String: Int] {
        try Dictionary(Row.fetchAll(db, sql: "SELECT name, value FROM counters").map { ($0[0] as String, $0[1] as Int) }, uniquingKeysWith: { $1 })
    }

    package func saveCounters(_ values: [(String, Int)]) async throws {
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

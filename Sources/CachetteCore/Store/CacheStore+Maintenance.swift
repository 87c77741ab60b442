import Foundation
import GRDB

package struct StoreInfo: Sendable {
    public var path: String
    package var entries: Int
    package var storedBytes: Int
    package var rawBytes: Int
    package var fileBytes: Int
    package var expiredEntries: Int
    public var maxBytes: Int
    package var oldest: Double?
    package var newest: Double?
    package var evictions: Int
    package var expirations: Int
    package var routes: [(route: String, entries: Int)]
}

package struct PruneResult: Sendable {
    package var expired: Int
    package var evicted: Int
    package var fileBytesBefore: Int
    package var fileBytesAfter: Int
}

extension CacheStore {
    package func info(now: Double = Date().timeIntervalSince1970) throws -> StoreInfo {
        try disk.pool.read { db in try Self.info(db, path: options.path, maxBytes: options.maxBytes, now: now) }
    }

    /// When the oldest stored entry was created; nil for an empty cache. One index read.
    package func oldestEntry() async throws -> Double? {
        try await disk.pool.read { db in try Double.fetchOne(db, sql: "SELECT min(created_at) FROM entries") }
    }

    /// Why a file could not be read as a cache, in a sentence.
    package struct ReadError: Error, CustomStringConvertible {
        package let description: String
    }

    /// What the cache file at `path` holds, read without writing anything: a missing
    /// file is not created, a damaged one is reported, not moved aside, and no
    /// migration runs. For commands that only look (`cachette cache info`).
    package static func info(readingOnly path: String, maxBytes: Int, now: Double = Date().timeIntervalSince1970) throws(ReadError) -> StoreInfo {
        guard FileManager.default.fileExists(atPath: path) else { throw ReadError(description: "\(path) does not exist") }
        var configuration = Configuration()
        configuration.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            return try queue.read { db in
                guard try db.tableExists("entries"), try db.tableExists("counters") else {
                    throw ReadError(description: "\(path) is not a Cachette cache (no entries table)")
                }
                return try info(db, path: path, maxBytes: maxBytes, now: now)
            }
        } catch let error as ReadError {
            throw error
        } catch let error as DatabaseError {
            throw ReadError(description: "\(path) cannot be read as a cache database (damaged?): SQLite error \(error.resultCode)")
        } catch {
            throw ReadError(description: "\(path) cannot be read: \(error)")
        }
    }

    private static func info(_ db: Database, path: String, maxBytes: Int, now: Double) throws -> StoreInfo {
        let row =
            try Row.fetchOne(
                db,
                sql: """
                    SELECT count(*), coalesce(sum(stored_size), 0), coalesce(sum(raw_size), 0),
                           min(created_at), max(created_at), coalesce(sum(expires_at <= ?), 0)
                    FROM entries
                    """, arguments: [now]) ?? Row()
        let routes = try Row.fetchAll(db, sql: "SELECT route, count(*) FROM entries GROUP BY route ORDER BY 2 DESC").map {
            (route: $0[0] as String, entries: $0[1] as Int)
        }
        let counters = try CachetteDatabase.counters(db)
        return StoreInfo(
            path: path, entries: row[0] ?? 0, storedBytes: row[1] ?? 0, rawBytes: row[2] ?? 0,
            fileBytes: fileBytes(path), expiredEntries: row[5] ?? 0, maxBytes: maxBytes,
            oldest: row[3], newest: row[4], evictions: counters["evictions"] ?? 0, expirations: counters["expirations"] ?? 0,
            routes: routes
        )
    }

    /// Removes expired entries, enforces the byte budget, and gives freed pages back to the filesystem.
    package func prune(now: Double = Date().timeIntervalSince1970) async throws -> PruneResult {
        let before = totals
        let fileBefore = fileBytes()
        try await flush(now: now)
        try await disk.compact()
        let after = totals
        return PruneResult(
            expired: after.expirations - before.expirations, evicted: after.evictions - before.evictions,
            fileBytesBefore: fileBefore, fileBytesAfter: fileBytes()
        )
    }

    /// Deletes every entry; stats counters are kept.
    @discardableResult
    package func clear() async throws -> Int {
        memory.removeAll()
        return try await disk.clear()
    }

    func fileBytes() -> Int { Self.fileBytes(options.path) }

    static func fileBytes(_ path: String) -> Int {
        ["", "-wal"].reduce(0) { sum, suffix in
            let size = (try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0
            return sum + size
        }
    }
}

extension SQLiteTier {
    /// Deletes every entry and gives the pages back.
    func clear() async throws -> Int {
        let removed = try await pool.write { db in
            try db.execute(sql: "DELETE FROM entries")
            return db.changesCount
        }
        try await compact()
        resetTotals()
        return removed
    }

    func compact() async throws {
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "VACUUM")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }
}

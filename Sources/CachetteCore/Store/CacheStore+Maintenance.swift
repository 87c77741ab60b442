import Foundation
import GRDB

public struct StoreInfo: Sendable {
    public var path: String
    public var entries: Int
    public var storedBytes: Int
    public var rawBytes: Int
    public var fileBytes: Int
    public var expiredEntries: Int
    public var maxBytes: Int
    public var oldest: Double?
    public var newest: Double?
    public var evictions: Int
    public var expirations: Int
    public var routes: [(route: String, entries: Int)]
}

public struct PruneResult: Sendable {
    public var expired: Int
    public var evicted: Int
    public var fileBytesBefore: Int
    public var fileBytesAfter: Int
}

extension CacheStore {
    public func info(now: Double = Date().timeIntervalSince1970) throws -> StoreInfo {
        let totals = self.totals
        return try pool.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), coalesce(sum(stored_size), 0), coalesce(sum(raw_size), 0),
                       min(created_at), max(created_at), coalesce(sum(expires_at <= ?), 0)
                FROM entries
                """, arguments: [now])!
            let routes = try Row.fetchAll(db, sql: "SELECT route, count(*) FROM entries GROUP BY route ORDER BY 2 DESC").map {
                (route: $0[0] as String, entries: $0[1] as Int)
            }
            return StoreInfo(
                path: options.path, entries: row[0], storedBytes: row[1], rawBytes: row[2],
                fileBytes: fileBytes(), expiredEntries: row[5], maxBytes: options.maxBytes,
                oldest: row[3], newest: row[4], evictions: totals.evictions, expirations: totals.expirations,
                routes: routes
            )
        }
    }

    /// Removes expired entries, enforces the byte budget, and gives freed pages back to the filesystem.
    public func prune(now: Double = Date().timeIntervalSince1970) async throws -> PruneResult {
        let before = totals
        let fileBefore = fileBytes()
        try await flush(now: now)
        try await compact()
        let after = totals
        return PruneResult(
            expired: after.expirations - before.expirations, evicted: after.evictions - before.evictions,
            fileBytesBefore: fileBefore, fileBytesAfter: fileBytes()
        )
    }

    /// Deletes every entry; stats counters are kept.
    @discardableResult
    public func clear() async throws -> Int {
        hot.removeAll()
        let removed = try await pool.write { db in
            try db.execute(sql: "DELETE FROM entries")
            return db.changesCount
        }
        try await compact()
        resetTotals()
        return removed
    }

    private func compact() async throws {
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "VACUUM")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    func fileBytes() -> Int {
        ["", "-wal"].reduce(0) { sum, suffix in
            let size = (try? FileManager.default.attributesOfItem(atPath: options.path + suffix)[.size] as? Int) ?? 0
            return sum + size
        }
    }
}

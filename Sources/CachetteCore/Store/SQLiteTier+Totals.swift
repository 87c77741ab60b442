import Foundation
import GRDB

/// What the file holds: its totals, its keys, and whether another process changed it.
extension SQLiteTier {
    /// Whether another process (say `cachette cache clear`) changed the file since the
    /// last look; if so the totals are read again, and the tiers above may be stale.
    func changedElsewhere() async throws -> Bool {
        let version = try await pool.writeWithoutTransaction(Self.dataVersion)
        let changed = lastDataVersion.withLock { last -> Bool in
            defer { last = version }
            return last != version
        }
        guard changed else { return false }
        logger.info("cache file changed by another process; reloading totals and emptying the memory tier")
        let (entries, bytes) = try await pool.read(Self.entryTotals)
        // Totals first, so nobody sees the emptied memory tier next to the old totals.
        totalsState.withLock { t in
            t.entries = entries
            t.bytes = bytes
        }
        try await loadKeys()
        return true
    }

    /// Reads the keys the file holds, so that misses skip the read from then on.
    func loadKeys() async throws {
        let load = queue.withLock { storedKeys.beginLoad(queued: $0.puts.keys) }
        let keys = try await pool.read { db in
            var keys = Set<CacheKey>()
            let rows = try Row.fetchCursor(db, sql: "SELECT key FROM entries")
            while let row = try rows.next() {
                if let key = try row.withUnsafeData(atIndex: 0, { $0.flatMap(CacheKey.init(bytes:)) }) { keys.insert(key) }
            }
            return keys
        }
        storedKeys.finishLoad(load, keys: keys)
    }

    /// Entries and their stored bytes, as the file holds them.
    /// Sizes are held to `FlushPlan.storedSize(of:)`'s rule, so a damaged file's totals
    /// neither overflow nor trap.
    static func entryTotals(_ db: Database) throws -> (entries: Int, bytes: Int) {
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT count(*), total(CASE WHEN typeof(stored_size) = 'integer' THEN max(0, min(stored_size, \(FlushPlan.maxRowBytes))) ELSE 0 END)
                FROM entries
                """)
        let entries = (try? row?.decode(Int.self, atIndex: 0)) ?? 0
        return (entries, Int(saturating: (try? row?.decode(Double.self, atIndex: 1)) ?? 0))
    }

    /// Moves only when another connection commits; read on the writer connection.
    static func dataVersion(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0
    }

    /// After `clear`: the file holds no entries.
    func resetTotals() {
        totalsState.withLock { t in
            t.entries = 0
            t.bytes = 0
        }
    }
}

import Foundation
import GRDB

/// The SQLite tier's writer: what is queued goes to the file in one transaction, which
/// also enforces TTL and the byte budget as `FlushPlan` decides.
extension SQLiteTier {
    /// A queued answer compressed for its row.
    private struct Compressed {
        let key: CacheKey
        let generation: UInt64
        let entry: NewEntry
        let body: [UInt8]
        let events: [UInt8]?
    }

    /// Writes what is queued. Returns the keys it dropped (evicted, expired, or too
    /// large to keep), which the tiers above must drop too.
    @discardableResult
    func flush(now: Double = Date().timeIntervalSince1970) async throws -> [CacheKey] {
        try await flushGate.run { try await flushLocked(now: now) }
    }

    private func flushLocked(now: Double) async throws -> [CacheKey] {
        let (puts, accesses, removals) = queue.withLock { q in
            defer {
                q.accesses = [:]
                q.removals = []
            }
            return (q.puts, q.accesses, q.removals)
        }
        // Compress outside the write transaction; readers keep being served meanwhile.
        var rows: [Compressed] = []
        rows.reserveCapacity(puts.count)
        var unstorable: [(CacheKey, UInt64)] = []
        for (key, put) in puts {
            do {
                let body = try compressor.compress(put.entry.response.body)
                let events = try put.entry.response.events.map { try compressor.compress($0.encoded()) }
                rows.append(Compressed(key: key, generation: put.generation, entry: put.entry, body: body, events: events))
            } catch {
                logger.error("could not compress a cache entry; not storing it", metadata: ["key": "\(key)", "error": "\(error)"])
                unstorable.append((key, put.generation))
            }
        }
        let written = rows
        let plan = try await pool.write { db -> FlushPlan in
            var plan = FlushPlan(maxBytes: options.maxBytes, staleSeconds: options.staleSeconds, now: now, startBytes: self.totals.bytes)
            try Self.touch(db, accesses)
            try Self.remove(db, removals, into: &plan)
            try Self.write(db, written, into: &plan)
            try Self.expire(db, into: &plan)
            try Self.evict(db, into: &plan)
            if plan.evictions > 0 || plan.expirations > 0 {
                let totals = self.totals
                try CachetteDatabase.saveCounters(
                    db, [("evictions", totals.evictions + plan.evictions), ("expirations", totals.expirations + plan.expirations)])
            }
            return plan
        }
        totalsState.withLock { t in
            t.entries += plan.entryDelta
            t.bytes += plan.byteDelta
            t.evictions += plan.evictions
            t.expirations += plan.expirations
        }
        // Forget the written puts, unless a newer answer for the same key arrived meanwhile.
        queue.withLock { q in
            for (key, generation) in rows.map({ ($0.key, $0.generation) }) + unstorable where q.puts[key]?.generation == generation {
                if let removed = q.puts.removeValue(forKey: key) { q.bytes -= removed.entry.response.size }
            }
            q.loggedDrop = false
            // Under the queue's lock: a key queued again since is written again, so stays.
            let puts = q.puts
            storedKeys.remove((plan.removed + plan.expired + plan.evicted).filter { puts[$0] == nil })
        }
        if plan.evictions > 0 {
            logger.debug("evicted least recently used entries", metadata: ["count": "\(plan.evictions)"])
        }
        return plan.dropped
    }

    private static func touch(_ db: Database, _ accesses: [CacheKey: (time: Double, hits: Int)]) throws {
        let touch = try db.cachedStatement(
            sql: "UPDATE entries SET accessed_at = max(accessed_at, ?), hit_count = hit_count + ? WHERE key = ?")
        for (key, access) in accesses {
            var values = StatementBinder(touch)
            try values.bind(access.time)
            try values.bind(access.hits)
            try values.bind(blob: key.bytes)
            try values.execute()
        }
    }

    private static func remove(_ db: Database, _ keys: Set<CacheKey>, into plan: inout FlushPlan) throws {
        let removal = try db.cachedStatement(sql: "DELETE FROM entries WHERE key = ? RETURNING stored_size")
        for key in keys {
            guard let row = try GRDB.Row.fetchOne(removal, arguments: [Data(key.bytes)]) else { continue }
            plan.removed(key, size: size(row, 0))
        }
    }

    private static func write(_ db: Database, _ rows: [Compressed], into plan: inout FlushPlan) throws {
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO entries (key, route, model, status, content_type, body, events, raw_size, stored_size,
                                     created_at, accessed_at, expires_at, prompt_tokens, completion_tokens)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(key) DO UPDATE SET
                    route = excluded.route, model = excluded.model, status = excluded.status,
                    content_type = excluded.content_type, body = excluded.body, events = excluded.events,
                    raw_size = excluded.raw_size,
                    stored_size = excluded.stored_size, created_at = excluded.created_at,
                    accessed_at = excluded.accessed_at, expires_at = excluded.expires_at,
                    prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
                    hit_count = 0
                """)
        let previousSize = try db.cachedStatement(sql: "SELECT stored_size FROM entries WHERE key = ?")
        for row in rows {
            let response = row.entry.response
            let storedSize = FlushPlan.storedSize(body: row.body.count, events: row.events?.count)
            guard plan.admit(row.key, storedSize: storedSize) else { continue }
            let key = row.key.bytes
            let previous = try GRDB.Row.fetchOne(previousSize, arguments: [Data(key)]).map { size($0, 0) }
            var values = StatementBinder(insert)
            try values.bind(blob: key)
            try values.bind(row.entry.route)
            try values.bind(row.entry.model)
            try values.bind(response.status)
            try values.bind(response.contentType)
            try values.bind(blob: row.body)
            if let events = row.events { try values.bind(blob: events) } else { try values.bindNull() }
            try values.bind(response.size)
            try values.bind(storedSize)
            try values.bind(response.createdAt)
            try values.bind(response.createdAt)
            try values.bind(response.expiresAt)
            try values.bind(response.usage.promptTokens)
            try values.bind(response.usage.completionTokens)
            try values.execute()
            plan.wrote(storedSize: storedSize, previous: previous)
        }
    }

    private static func expire(_ db: Database, into plan: inout FlushPlan) throws {
        let expired = try GRDB.Row.fetchAll(
            db.cachedStatement(sql: "DELETE FROM entries WHERE expires_at <= ? RETURNING key, stored_size"), arguments: [plan.expiryCutoff])
        for row in expired { plan.expired(key(row, 0), size: size(row, 1)) }
    }

    /// Least recently used first, 64 candidates at a time, until the budget holds. By
    /// rowid: a key the file holds in another type is still deleted.
    private static func evict(_ db: Database, into plan: inout FlushPlan) throws {
        let delete = try db.cachedStatement(sql: "DELETE FROM entries WHERE rowid = ?")
        while plan.overBudget {
            let candidates = try GRDB.Row.fetchAll(
                db.cachedStatement(sql: "SELECT rowid, key, stored_size FROM entries ORDER BY accessed_at, rowid LIMIT 64"))
            if candidates.isEmpty { break }
            let victims = plan.evict(
                from: candidates.map { row in (id: (try? row.decode(Int64.self, atIndex: 0)) ?? 0, key: key(row, 1), size: size(row, 2)) })
            for victim in victims { try delete.execute(arguments: [victim]) }
        }
    }

    /// The file is outside input: GRDB's subscripts trap on a NULL or a mismatched
    /// type, so these columns are read with throwing decodes. A key that is not one
    /// (a damaged file) has nothing in memory to drop.
    private static func key(_ row: GRDB.Row, _ index: Int) -> CacheKey? {
        (try? row.decode(Data.self, atIndex: index)).flatMap(CacheKey.init(bytes:))
    }

    private static func size(_ row: GRDB.Row, _ index: Int) -> Int {
        FlushPlan.storedSize(of: (try? row.decode(Int.self, atIndex: index)) ?? 0)
    }
}

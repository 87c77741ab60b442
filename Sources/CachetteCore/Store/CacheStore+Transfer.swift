import Foundation
import GRDB
import NIOCore

extension CacheStore {
    /// Calls `body` with every entry in the SQLite file, oldest first: those created at
    /// or after `since` whose model matches the glob `model`. Returns how many it read.
    @discardableResult
    package func forEachEntry(createdSince since: Double? = nil, model: String? = nil, _ body: (CacheKey, NewEntry) throws -> Void) throws -> Int {
        try disk.forEachEntry(createdSince: since, model: model, body)
    }

    /// Stores imported entries: queued like answers, written before the queue fills.
    package func importEntry(_ key: CacheKey, _ entry: NewEntry) async throws {
        if queuedBytes + entry.response.size > options.maxQueuedBytes / 2 { try await flush() }
        store(key, entry)
    }
}

extension SQLiteTier {
    func forEachEntry(createdSince since: Double?, model: String?, _ body: (CacheKey, NewEntry) throws -> Void) throws -> Int {
        try pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT key, route, model, status, content_type, created_at, expires_at, prompt_tokens, completion_tokens, body, events
                    FROM entries WHERE created_at >= ? ORDER BY created_at, rowid
                    """,
                arguments: [since ?? -Double.greatestFiniteMagnitude]
            )
            var count = 0
            while let row = try rows.next() {
                let name: String = row[2]
                if let model, !Glob.matches(model, name) { continue }
                guard let key = CacheKey(bytes: row[0] as Data) else { continue }
                let response = try response(row, from: 3)
                try body(key, NewEntry(route: row[1], model: name, response: response))
                count += 1
            }
            return count
        }
    }
}

extension CacheStore {
    /// The route the SQLite file holds `key` under, if it holds it.
    package func storedRoute(_ key: CacheKey) throws -> String? {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT route FROM entries WHERE key = ?", arguments: [Data(key.bytes)])
        }
    }
}

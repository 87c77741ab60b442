@testable import CachetteCore
import Foundation
import GRDB
import Logging
import NIOCore
import Testing

@Suite("Cache store on real SQLite files")
struct CacheStoreTests {
    let logger = Logger(label: "test")

    @Test("an entry is served at once, then from SQLite after a reopen, byte for byte")
    func persistence() async throws {
        let path = temporaryDatabasePath()
        let body = String(repeating: "The quick brown fox. ", count: 200)
        do {
            let store = try CacheStore(options: .init(path: path), logger: logger)
            store.store(key(1), entry(body))
            #expect(store.lookup(key(1), now: 1_001).map { String(buffer: $0.entry.body) } == body)
            try await store.flush(now: 1_001)
            #expect(store.totals.entries == 1)
        }
        let reopened = try CacheStore(options: .init(path: path), logger: logger)
        #expect(reopened.totals.entries == 1)
        let hit = try #require(reopened.lookup(key(1), now: 1_002)?.entry)
        #expect(String(buffer: hit.body) == body)
        #expect(hit.usage == TokenUsage(promptTokens: 3, completionTokens: 4))
        #expect(hit.status == 200 && hit.contentType == "application/json")
        #expect(hit.createdAt == 1_000 && hit.expiresAt == 4_600)
        // Stored compressed: the body is repetitive, the row much smaller than it.
        let stored = try reopened.info(now: 1_002)
        #expect(stored.rawBytes == body.utf8.count)
        #expect(stored.storedBytes < body.utf8.count / 4)
        #expect(reopened.lookup(key(2), now: 1_002) == nil)
    }

    @Test("when SQLite refuses writes (disk full), the write queue stays bounded, drops are counted, and memory still serves")
    func writesUnderFailure() async throws {
        let path = temporaryDatabasePath()
        let store = try CacheStore(options: .init(path: path, memoryBytes: 1 << 20, maxQueuedBytes: 64 << 10), logger: logger)
        // A full disk, for real: the writer connection may not grow the file past its current pages.
        try await store.pool.write { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 1
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
        }
        // Random text, so zstd cannot make it fit in the pages the file already has.
        var rng = SystemRandomNumberGenerator()
        let body = String((0..<4096).map { _ in Character(UnicodeScalar(UInt8.random(in: 0x21...0x7E, using: &rng))) })
        var failures = 0
        for n in 0..<100 {
            store.store(key(n), entry(body + String(n)))
            do { try await store.flush(now: 1_001) } catch { failures += 1 }
            #expect(store.queuedBytes <= 64 << 10)
        }
        #expect(failures >= 95, "SQLite refused the writes")
        #expect(store.totals.droppedWrites >= 100 - (64 << 10) / 4096 - 5)
        // What was queued is still served from memory.
        #expect(store.lookup(key(10), now: 1_001).map { String(buffer: $0.entry.body) } == body + "10")
        // Once the disk has room again, the queue drains and new answers are taken.
        try await store.pool.write { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
        try await store.flush(now: 1_001)
        #expect(store.queuedBytes == 0 && store.totals.entries > 0)
        store.store(key(1000), entry(body))
        try await store.flush(now: 1_001)
        #expect(store.lookup(key(1000), now: 1_001) != nil)
    }

    /// A file at a fresh path holding `rows` (key, stored size, expiry) as written by
    /// hand, outside the store's checks.
    func fileWith(_ rows: [(key: DatabaseValue, size: DatabaseValue, expires: Double)]) async throws -> String {
        let path = temporaryDatabasePath()
        let writer = try CacheStore(options: .init(path: path), logger: logger)
        try await writer.pool.write { db in
            for row in rows {
                try db.execute(
                    sql: """
                        INSERT INTO entries (key, route, model, status, content_type, body, raw_size, stored_size, created_at,
                                             accessed_at, expires_at)
                        VALUES (?, 'r', 'm', 200, 'application/json', x'00', 1, ?, 1, 1, ?)
                        """, arguments: [row.key, row.size, row.expires])
            }
        }
        return path
    }

    @Test("rows whose key is not 16 bytes (a damaged file) expire and are evicted without a trap, and are counted")
    func damagedKeys() async throws {
        let path = try await fileWith([
            (Data([1, 2, 3]).databaseValue, 600_000.databaseValue, 10), (Data(repeating: 7, count: 40).databaseValue, 2_000_000.databaseValue, 9e9),
        ])
        // Opened again, its totals count both rows: the first has expired, the second is over a 1 MiB budget.
        let store = try CacheStore(options: .init(path: path, maxBytes: 1 << 20), logger: logger)
        try await store.flush(now: 1_000)
        #expect(store.totals.expirations == 1 && store.totals.evictions == 1)
        #expect(store.totals.entries == 0)
    }

    @Test("rows whose key or stored size has another type (a damaged file) open, expire and are evicted without a trap")
    func damagedSizes() async throws {
        let path = try await fileWith([
            ("a text key".databaseValue, "lots".databaseValue, 10), (Data(repeating: 1, count: 16).databaseValue, 2.5.databaseValue, 10),
            (Data(repeating: 2, count: 16).databaseValue, Int.max.databaseValue, 9e9),
            (Data(repeating: 3, count: 16).databaseValue, Int.max.databaseValue, 9e9),
        ])
        // A size that is not a whole number counts 0; one past what a row can hold, that much.
        let store = try CacheStore(options: .init(path: path, maxBytes: 1 << 20), logger: logger)
        #expect(store.totals.entries == 4 && store.totals.bytes == 2 * Int(Int32.max))
        try await store.flush(now: 1_000)
        #expect(store.totals.expirations == 2 && store.totals.evictions == 2)
        #expect(store.totals.entries == 0)
    }

    /// A store whose one entry, key 1, has had `assignments` applied to its row in the file.
    func damaged(_ assignments: String, maxEntryBytes: Int = 64 << 20) async throws -> CacheStore {
        let path = temporaryDatabasePath()
        let writer = try CacheStore(options: .init(path: path), logger: logger)
        writer.store(key(1), entry(#"{"choices":[{"index":0}]}"#, now: 1_700_000_000))
        try await writer.flush(now: 1_700_000_001)
        try await writer.pool.write { db in try db.execute(sql: "UPDATE entries SET \(assignments)") }
        return try CacheStore(options: .init(path: path, maxEntryBytes: maxEntryBytes), logger: logger)
    }

    @Test("a stored time of -1e300 is served with an Age held to 2^31, not a trap")
    func implausibleCreation() async throws {
        let store = try await damaged("created_at = -1e300")
        let hit = try #require(store.lookup(key(1), now: 1_700_000_002)?.entry)
        #expect(hit.age(at: 1_700_000_002) == CachedResponse.maxAge)
        #expect(CachedResponse(status: 200, contentType: "", body: .init(), createdAt: .nan, expiresAt: 0, usage: .zero).age(at: 1) == 0)
    }

    @Test(
        "a row whose columns hold text where a number goes, an error status or broken frames is a miss, not a trap",
        arguments: ["status = 'two hundred'", "status = 500", "body = x'00'", "events = x'43534531ffffffff'", "events = x'00'"])
    func damagedColumns(assignment: String) async throws {
        let store = try await damaged(assignment)
        #expect(store.lookup(key(1), now: 1_700_000_002) == nil)
    }

    @Test(
        "a count no answer could carry (negative, past 2^32) makes the row a miss",
        arguments: [
            "prompt_tokens = -5", "completion_tokens = 9223372036854775807",
        ])
    func damagedCounts(assignment: String) async throws {
        let store = try await damaged(assignment)
        #expect(store.lookup(key(1), now: 1_700_000_002) == nil)
    }

    @Test("a zstd frame that claims more than max_response_bytes is not decompressed: an 8 KB row of a 256 MiB answer is a miss")
    func decompressionBomb() async throws {
        let zeros = [UInt8](repeating: UInt8(ascii: " "), count: 256 << 20)
        let bomb = try zeros.withUnsafeBytes { try Zstd.compress($0) }
        #expect(bomb.count < 16 << 10)
        let store = try await damaged("body = x'\(bomb.map { String(format: "%02x", $0) }.joined())'", maxEntryBytes: 1 << 20)
        #expect(store.lookup(key(1), now: 1_700_000_002) == nil)
    }

    @Test("an expired entry is kept for the stale window, served only as stale, and removed when both are over")
    func staleWindow() async throws {
        let path = temporaryDatabasePath()
        let store = try CacheStore(options: .init(path: path, memoryBytes: 0, staleSeconds: 100), logger: logger)
        store.store(key(1), entry("old answer", now: 1_000, ttl: 10))
        try await store.flush(now: 1_050)
        #expect(store.totals.entries == 1, "kept past its TTL")
        #expect(store.lookup(key(1), now: 1_050) == nil, "never a hit once expired")
        #expect(store.lookup(key(1), now: 1_050, .stale(within: 3600)).map { String(buffer: $0.entry.body) } == "old answer")
        #expect(store.lookup(key(1), now: 1_050, .stale(within: 30)) == nil, "a request's narrower window wins")
        #expect(store.lookup(key(1), now: 1_050, .stale(within: 0)) == nil)
        try await store.flush(now: 1_111)
        #expect(store.totals.entries == 0 && store.lookup(key(1), now: 1_111, .stale(within: 3600)) == nil)
    }

    @Test("expired entries are misses and are removed on flush")
    func ttl() async throws {
        let store = try CacheStore(options: .init(path: temporaryDatabasePath()), logger: logger)
        store.store(key(1), entry("a", now: 1_000, ttl: 10))
        #expect(store.lookup(key(1), now: 1_009) != nil)
        #expect(store.lookup(key(1), now: 1_010) == nil)
        try await store.flush(now: 1_011)
        #expect(store.totals.entries == 0)
        #expect(store.totals.expirations == 1)
    }

    @Test("the byte budget evicts least recently used entries first, from disk and memory")
    func lru() async throws {
        // Random bodies do not compress: each row costs about 300 + 128 bytes.
        var rng = SystemRandomNumberGenerator()
        func body() -> String { String((0..<300).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement(using: &rng)! }) }
        let store = try CacheStore(options: .init(path: temporaryDatabasePath(), maxBytes: 1_400), logger: logger)
        for n in 1...3 {
            store.store(key(n), entry(body(), now: 1_000 + Double(n)))
            try await store.flush(now: 1_000 + Double(n))
        }
        #expect(store.totals.entries == 3)
        _ = store.lookup(key(1), now: 1_010)  // 1 becomes the most recent
        store.store(key(4), entry(body(), now: 1_011))
        try await store.flush(now: 1_011)
        #expect(store.totals.evictions == 1)
        #expect(store.totals.bytes <= 1_400)
        #expect(store.lookup(key(2), now: 1_012) == nil)
        for n in [1, 3, 4] { #expect(store.lookup(key(n), now: 1_012) != nil, "entry \(n)") }
        // Evictions survive a reopen.
        let reopened = try CacheStore(options: .init(path: store.options.path, maxBytes: 1_400), logger: logger)
        #expect(reopened.totals.evictions == 1)
        #expect(reopened.lookup(key(2), now: 1_012) == nil)
    }

    @Test("an entry larger than the whole budget is not stored")
    func oversizedEntry() async throws {
        let store = try CacheStore(options: .init(path: temporaryDatabasePath(), maxBytes: 200), logger: logger)
        var rng = SystemRandomNumberGenerator()
        store.store(key(1), entry(String((0..<2_000).map { _ in "abcdefgh0123".randomElement(using: &rng)! })))
        try await store.flush(now: 1_001)
        #expect(store.totals.entries == 0)
        #expect(store.lookup(key(1), now: 1_001) == nil)
    }

    @Test("a file that is not a database is moved aside and replaced")
    func corruptFile() throws {
        let path = temporaryDatabasePath()
        try Data("this is not sqlite".utf8 + Data(repeating: 7, count: 4096)).write(to: URL(fileURLWithPath: path))
        let store = try CacheStore(options: .init(path: path), logger: logger)
        #expect(store.totals.entries == 0)
        let dir = (path as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.contains(".corrupt-") })
    }

    @Test("clear and prune")
    func maintenance() async throws {
        let store = try CacheStore(options: .init(path: temporaryDatabasePath()), logger: logger)
        for n in 1...5 { store.store(key(n), entry("body \(n)", now: 1_000, ttl: n <= 2 ? 5 : 3600)) }
        try await store.flush(now: 1_001)
        let pruned = try await store.prune(now: 1_100)
        #expect(pruned.expired == 2)
        #expect(store.totals.entries == 3)
        let cleared = try await store.clear()
        #expect(cleared == 3)
        #expect(store.totals.entries == 0 && store.totals.bytes == 0)
        #expect(store.lookup(key(3), now: 1_100) == nil)
    }

    @Test("a change made by another process empties the memory tier")
    func externalChange() async throws {
        let path = temporaryDatabasePath()
        let store = try CacheStore(options: .init(path: path), logger: logger)
        store.store(key(1), entry("a", now: Date().timeIntervalSince1970))
        let writer = Task { await store.runWriter(interval: .milliseconds(50)) }
        defer { writer.cancel() }
        // Generous: in the parallel suite on two cores, CPU-bound tests can hold both of the
        // pool's threads for tens of seconds (seen while a release build ran beside it).
        try await eventually(within: .seconds(90)) { store.totals.entries == 1 }
        #expect(store.lookup(key(1), now: Date().timeIntervalSince1970) != nil)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let other = try DatabaseQueue(path: path, configuration: configuration)
        try await other.write { db in try db.execute(sql: "DELETE FROM entries") }
        try await eventually(within: .seconds(90)) { store.lookup(key(1), now: Date().timeIntervalSince1970) == nil }
        #expect(store.totals.entries == 0)
    }

    @Test("once the keys are loaded a miss skips the read, and entries from an earlier run or another process are still found")
    func storedKeys() async throws {
        let path = temporaryDatabasePath()
        let now = Date().timeIntervalSince1970
        let earlier = try CacheStore(options: .init(path: path), logger: logger)
        earlier.store(key(1), entry("from an earlier run", now: now))
        try await earlier.flush()

        let store = try CacheStore(options: .init(path: path), logger: logger)
        #expect(store.disk.mayHold(key(9)), "not loaded yet: every key may be there")
        let writer = Task { await store.runWriter(interval: .milliseconds(50)) }
        defer { writer.cancel() }
        try await eventually { !store.disk.mayHold(key(9)) }
        #expect(store.disk.mayHold(key(1)))
        #expect(store.lookup(key(1), now: now)?.entry.body == ByteBuffer(string: "from an earlier run"))
        #expect(store.lookup(key(9), now: now) == nil)

        // Stored here, then written: found in memory and, after the memory tier is emptied, on disk.
        store.store(key(2), entry("stored here", now: now))
        try await eventually { store.totals.entries == 2 }
        store.memory.removeAll()
        #expect(store.lookup(key(2), now: now) != nil)

        // Another process imports an entry: found once the writer sees the file changed.
        let other = try CacheStore(options: .init(path: path), logger: logger)
        try await other.importEntry(key(3), entry("from another process", now: now))
        try await other.flush()
        try await eventually(within: .seconds(30)) { store.lookup(key(3), now: now) != nil }
        try await eventually { !store.disk.mayHold(key(9)) }  // reloaded
        #expect(store.disk.mayHold(key(3)))

        // Written, then deleted as expired: the key is forgotten too.
        store.store(key(4), entry("short-lived", now: now, ttl: 1))
        try await store.flush(now: now)
        #expect(store.disk.mayHold(key(4)))
        try await store.flush(now: now + 10_000_000)
        #expect(!store.disk.mayHold(key(4)))
    }

    @Test("a key load keeps what was queued or stored while it read, and a load replaced by a newer one does not count")
    func storedKeysLoad() {
        let keys = StoredKeys()
        let first = keys.beginLoad(queued: [key(1)])
        keys.insert(key(2))
        let second = keys.beginLoad(queued: [])
        keys.finishLoad(first, keys: [key(3)])
        #expect(keys.mayHold(key(9)), "the first load was replaced: still loading")
        keys.finishLoad(second, keys: [key(4)])
        #expect(keys.mayHold(key(1)) && keys.mayHold(key(2)) && keys.mayHold(key(4)))
        #expect(!keys.mayHold(key(3)) && !keys.mayHold(key(9)))
        keys.remove([key(4)])
        #expect(!keys.mayHold(key(4)))
    }

    @Test("counters round-trip through the database")
    func counters() async throws {
        let path = temporaryDatabasePath()
        let store = try CacheStore(options: .init(path: path), logger: logger)
        let stats = StatsCounters(now: 42)
        stats.record(.hit, usage: .init(promptTokens: 5, completionTokens: 6), streamed: false)
        stats.record(.miss, usage: .init(promptTokens: 7, completionTokens: 8), streamed: false)
        stats.record(.rejected, usage: nil, streamed: false)
        try await store.database.saveCounters(stats.persistable)
        let restored = StatsCounters(restoring: try CachetteDatabase(path: path, logger: logger).loadCounters())
        #expect(restored.snapshot == stats.snapshot)
        #expect(restored.snapshot.since == 42)
        #expect(restored.snapshot.cachedTokens == 11)
        #expect(restored.snapshot.rejected == 1)
    }
}

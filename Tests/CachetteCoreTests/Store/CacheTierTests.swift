import Foundation
import Logging
import Synchronization
import Testing

@testable import CachetteCore

/// A shared tier in memory that counts its calls, and can fail on purpose.
final class RecordingSharedTier: AsyncCacheTier {
    struct State {
        var entries: [CacheKey: NewEntry] = [:]
        var reads = 0
        var writes = 0
        var failing = false
    }

    let state = Mutex(State())

    struct Down: Error {}

    func entry(_ key: CacheKey) async throws -> NewEntry? {
        try state.withLock { s in
            s.reads += 1
            if s.failing { throw Down() }
            return s.entries[key]
        }
    }

    func store(_ key: CacheKey, _ entry: NewEntry) async throws {
        try state.withLock { s in
            s.writes += 1
            if s.failing { throw Down() }
            s.entries[key] = entry
        }
    }

    func remove(_ key: CacheKey) async throws {
        _ = state.withLock { $0.entries.removeValue(forKey: key) }
    }
}

@Suite("Cache tiers")
struct CacheTierTests {
    let logger = Logger(label: "test")

    @Test("a shared tier is read after the local tiers miss, and what it has fills them")
    func sharedFillsLocal() async throws {
        let shared = RecordingSharedTier()
        let now = Date().timeIntervalSince1970
        shared.state.withLock { $0.entries[key(1)] = entry("from another replica", now: now) }
        let store = try CacheStore(
            database: CachetteDatabase(path: temporaryDatabasePath(), logger: logger), options: .init(path: ""), shared: shared, logger: logger
        )
        #expect(store.lookup(key(1), now: now) == nil, "the local tiers do not ask the shared one")
        let found = try #require(await store.lookupShared(key(1), now: now))
        #expect(String(buffer: found.body) == "from another replica")
        #expect(store.lookupRecent(key(1), now: now) != nil, "now in memory")
        try await store.flush(now: now)
        #expect(store.totals.entries == 1, "and in SQLite")
        #expect(await store.lookupShared(key(2), now: now) == nil)
        #expect(shared.state.withLock { $0.reads } == 2)
    }

    @Test("an expired shared entry, or a failing shared tier, is a miss and not an error")
    func sharedMisses() async throws {
        let shared = RecordingSharedTier()
        let now = Date().timeIntervalSince1970
        shared.state.withLock { $0.entries[key(1)] = entry("old", now: now - 7200, ttl: 3600) }
        let store = try CacheStore(
            database: CachetteDatabase(path: temporaryDatabasePath(), logger: logger), options: .init(path: ""), shared: shared, logger: logger
        )
        #expect(await store.lookupShared(key(1), now: now) == nil)
        shared.state.withLock { $0.failing = true }
        #expect(await store.lookupShared(key(1), now: now) == nil)
    }

    @Test("a stored answer reaches every tier, the shared one without waiting")
    func storeWritesThrough() async throws {
        let shared = RecordingSharedTier()
        let now = Date().timeIntervalSince1970
        let store = try CacheStore(
            database: CachetteDatabase(path: temporaryDatabasePath(), logger: logger), options: .init(path: ""), shared: shared, logger: logger
        )
        store.store(key(1), entry("answer", now: now))
        #expect(store.lookupRecent(key(1), now: now) != nil)
        try await eventually { shared.state.withLock { $0.entries[key(1)] != nil } }
    }

    @Test("the SQLite tier removes an entry, and forgets a queued write of it")
    func sqliteRemoves() async throws {
        let store = try CacheStore(options: .init(path: temporaryDatabasePath()), logger: logger)
        let now = Date().timeIntervalSince1970
        store.store(key(1), entry("a", now: now))
        store.store(key(2), entry("b", now: now))
        try await store.flush(now: now)
        #expect(store.totals.entries == 2)
        store.disk.remove(key(1))
        store.disk.store(key(3), entry("c", now: now))
        store.disk.remove(key(3))
        try await store.flush(now: now)
        #expect(store.totals.entries == 1)
        #expect(store.disk.entry(key(1)) == nil && store.disk.entry(key(3)) == nil)
        #expect(store.disk.entry(key(2)) != nil)
        #expect(store.queuedBytes == 0)
    }
}

import Foundation
import Logging
import Synchronization
import Testing

@testable import CachetteCore

/// A shared tier in memory that counts its calls, and can be down on purpose.
final class RecordingSharedTier: SharedCacheTier {
    struct State {
        var entries: [CacheKey: NewEntry] = [:]
        var reads = 0
        var writes = 0
        var releases: [CacheKey] = []
        var accesses: [CacheKey] = []
        var down = false
    }

    let state = Mutex(State())

    func fetch(_ key: CacheKey, now: Double, lead: Bool) async -> NewEntry? {
        state.withLock { s in
            s.reads += 1
            return s.down ? nil : s.entries[key]
        }
    }

    func store(_ key: CacheKey, _ entry: NewEntry) {
        state.withLock { s in
            s.writes += 1
            if !s.down { s.entries[key] = entry }
        }
    }

    func release(_ key: CacheKey) {
        state.withLock { $0.releases.append(key) }
    }

    func recordAccess(_ key: CacheKey, now: Double) {
        state.withLock { $0.accesses.append(key) }
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
        #expect(store.lookup(key(1), now: now, .recent) != nil, "now in memory")
        try await store.flush(now: now)
        #expect(store.totals.entries == 1, "and in SQLite")
        #expect(await store.lookupShared(key(2), now: now) == nil)
        #expect(shared.state.withLock { $0.reads } == 2)
    }

    @Test("an expired shared entry, or a shared tier that is down, is a miss")
    func sharedMisses() async throws {
        let shared = RecordingSharedTier()
        let now = Date().timeIntervalSince1970
        shared.state.withLock { $0.entries[key(1)] = entry("old", now: now - 7200, ttl: 3600) }
        let store = try CacheStore(
            database: CachetteDatabase(path: temporaryDatabasePath(), logger: logger), options: .init(path: ""), shared: shared, logger: logger
        )
        #expect(await store.lookupShared(key(1), now: now) == nil)
        shared.state.withLock { $0.down = true }
        #expect(await store.lookupShared(key(1), now: now) == nil)
    }

    @Test("a stored answer reaches every tier; local hits reach the shared tier's LRU; release is passed on")
    func storeWritesThrough() async throws {
        let shared = RecordingSharedTier()
        let now = Date().timeIntervalSince1970
        let store = try CacheStore(
            database: CachetteDatabase(path: temporaryDatabasePath(), logger: logger), options: .init(path: ""), shared: shared, logger: logger
        )
        store.store(key(1), entry("answer", now: now))
        #expect(store.lookup(key(1), now: now, .recent) != nil)
        #expect(shared.state.withLock { $0.entries[key(1)] != nil })
        try await store.flush(now: now)
        store.memory.removeAll()
        let before = shared.state.withLock { $0.accesses.count }
        #expect(store.lookup(key(1), now: now)?.tier == .disk)
        #expect(store.lookup(key(1), now: now)?.tier == .memory)
        #expect(shared.state.withLock { $0.accesses.count } == before + 2, "a disk hit and a memory hit")
        store.releaseShared(key(2))
        #expect(shared.state.withLock { $0.releases } == [key(2)])
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

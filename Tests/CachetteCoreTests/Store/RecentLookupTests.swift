@testable import CachetteCore
import Foundation
import GRDB
import Logging
import NIOCore
import Testing

@Suite("Recent lookups")
struct RecentLookupTests {
    @Test("a recent lookup sees queued and hot entries but never reads the disk")
    func memoryOnly() async throws {
        let path = temporaryDatabasePath()
        do {
            let store = try CacheStore(options: .init(path: path), logger: Logger(label: "test"))
            store.store(key(1), entry("a"))
            #expect(store.lookup(key(1), now: 1_001, .recent) != nil)  // queued
            try await store.flush(now: 1_001)
            #expect(store.lookup(key(1), now: 1_001, .recent) != nil)  // hot
            #expect(store.lookup(key(1), now: 9_999, .recent) == nil)  // expired
        }
        let reopened = try CacheStore(options: .init(path: path), logger: Logger(label: "test"))
        #expect(reopened.lookup(key(1), now: 1_002, .recent) == nil)  // only on disk
        #expect(reopened.lookup(key(1), now: 1_002) != nil)
        #expect(reopened.lookup(key(1), now: 1_002, .recent) != nil)  // promoted by the full lookup
    }
}

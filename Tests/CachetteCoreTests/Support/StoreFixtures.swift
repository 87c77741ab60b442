@testable import CachetteCore
import Foundation
import GRDB
import Logging
import NIOCore
import Testing

// Shared by the store, tier and ledger tests.

func temporaryDatabasePath() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-core-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("cache.sqlite").path
}

func entry(_ text: String, now: Double = 1_000, ttl: Double = 3600, usage: TokenUsage = .init(promptTokens: 3, completionTokens: 4)) -> NewEntry {
    NewEntry(
        route: "/v1/chat/completions", model: "gpt-4o",
        response: CachedResponse(
            status: 200, contentType: "application/json", body: ByteBuffer(string: text),
            createdAt: now, expiresAt: now + ttl, usage: usage
        ))
}

func key(_ n: Int) -> CacheKey { CacheKey(hashing: Array("key-\(n)".utf8)) }

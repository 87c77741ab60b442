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

/// Waits for background work to reach a state; a deadline, not a timing assertion.
func eventually(
    within limit: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not reached within \(limit)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

func key(_ n: Int) -> CacheKey { CacheKey(hashing: Array("key-\(n)".utf8)) }

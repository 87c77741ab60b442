import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing

@Suite("Health, stats, start-up and secrets")
struct EndpointTests {
    @Test("/health reports status, version, uptime and cache size")
    func health() async throws {
        try await Harness.run { h in
            _ = try await h.post()
            try await eventually { try await h.json("/health")["cache"]?["entries"]?.intValue == 1 }
            let health = try await h.json("/health")
            #expect(health["status"]?.stringValue == "ok")
            #expect(health["version"]?.stringValue == CachetteVersion.current)
            #expect(health["uptime_seconds"]?.intValue != nil)
            #expect(health["cache"]?["entries"]?.intValue == 1)
            #expect(health["cache"]?["bytes"]?.intValue ?? 0 > 0)
        }
    }

    @Test("/stats keeps TokenPak's fields and adds Cachette's")
    func statsShape() async throws {
        try await Harness.run { h in
            _ = try await h.post()
            _ = try await h.post()
            _ = try await h.post()
            let stats = try await h.json("/stats")
            #expect(stats["cached"]?.intValue == 2)
            #expect(stats["compressed_requests"]?.intValue == 0)
            #expect(stats["token_usage"]?["input"]?.intValue == 11)
            #expect(stats["token_usage"]?["output"]?.intValue == 7)
            #expect(stats["token_usage"]?["cached"]?.intValue == 36)
            #expect(stats["requests"]?.intValue == 3)
            #expect(stats["hits"]?.intValue == 2)
            #expect(stats["misses"]?.intValue == 1)
            #expect(abs((stats["hit_ratio"]?.doubleValue ?? 0) - 0.6667) < 0.001)
            #expect(stats["upstream_errors"]?.intValue == 0)
            #expect(stats["cache"]?["evictions"]?.intValue == 0)
            #expect(stats["cache"]?["entries"]?.intValue != nil)
            #expect(stats["since"]?.stringValue?.hasPrefix("20") == true)
        }
    }

    @Test("a corrupt database file is moved aside and the sidecar still comes up")
    func corruptDatabase() async throws {
        let database = Harness.temporaryDatabase()
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: database))
        let logs = LogCapture()
        try await Harness.run(database: database, logs: logs) { h in
            #expect(try await h.get("/health").status == .ok)
            try await expectCache(h.post(), "MISS")
            try await expectCache(h.post(), "HIT")
        }
        let siblings = try FileManager.default.contentsOfDirectory(atPath: (database as NSString).deletingLastPathComponent)
        #expect(siblings.contains { $0.hasPrefix("cache.sqlite.corrupt-") })
        #expect(logs.all.contains("moving it aside"))
    }

    @Test("API keys reach neither the logs nor the cache file")
    func secretsStayOut() async throws {
        let database = Harness.temporaryDatabase()
        let logs = LogCapture()
        let secret = "sk-live-SECRET-0123456789abcdef"
        try await Harness.run(database: database, logs: logs, configure: { $0.logging.level = .trace }) { h in
            _ = try await h.post(headers: [.authorization: "Bearer \(secret)"])
            try await expectCache(h.post(headers: [.authorization: "Bearer \(secret)"]), "HIT")
            _ = try await h.post("/v1/chat/completions", "not json", headers: [.authorization: "Bearer \(secret)"])
        }
        #expect(logs.all.contains("\"credential\": cred:"), "requests are logged with the credential's fingerprint")
        #expect(!logs.all.contains(secret))
        for suffix in ["", "-wal"] {
            if let bytes = FileManager.default.contents(atPath: database + suffix) {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "secret found in \(database + suffix)")
            }
        }
    }
}

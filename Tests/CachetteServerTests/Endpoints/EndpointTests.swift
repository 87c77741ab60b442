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

@Suite("Token counting endpoint")
struct TokenCountEndpointTests {
    @Test("POST /v1/tokens/count counts text and messages locally, and refuses bad input")
    func counts() async throws {
        try await Harness.run { h in
            let text = try JSONValue.parse(try await h.post("/v1/tokens/count", #"{"model":"gpt-4o","text":"hello world"}"#).body.readableBytesView)
            #expect(text == .object(["tokens": .int(2), "encoding": .string("o200k_base"), "estimated": .bool(false)]))
            let chat = try JSONValue.parse(
                try await h.post(
                    "/v1/tokens/count", #"{"model":"gpt-4","messages":[{"role":"user","content":"hello world"}]}"#
                ).body.readableBytesView)
            #expect(chat["tokens"]?.intValue == 3 + 3 + 1 + 2)
            #expect(chat["encoding"]?.stringValue == "cl100k_base")
            let unknown = try JSONValue.parse(try await h.post("/v1/tokens/count", #"{"model":"mistral-large","text":"hi"}"#).body.readableBytesView)
            #expect(unknown["estimated"] == .bool(true))

            let noInput = try await h.post("/v1/tokens/count", #"{"model":"gpt-4o"}"#)
            #expect(noInput.status == .badRequest)
            #expect(noInput.text.contains("missing_input"))
            let noModel = try await h.post("/v1/tokens/count", #"{"text":"hi"}"#)
            #expect(noModel.status == .badRequest)
            #expect(noModel.text.contains("missing_model"))
            let notJSON = try await h.post("/v1/tokens/count", "hello")
            #expect(notJSON.status == .badRequest)
            #expect(h.upstream.calls == 0, "never forwarded")
        }
    }
}

@Suite("Passthrough timing")
struct PassthroughTimingTests {
    @Test("passthrough requests move the passthrough latency histogram")
    func passthroughHistogram() async throws {
        try await Harness.run { h in
            _ = try await h.post("/v1/files", #"{"model":"gpt-4o","purpose":"batch"}"#)
            let metrics = String(buffer: try await h.get("/metrics").body)
            let line = metrics.split(separator: "\n").first { $0.hasPrefix(#"cachette_request_duration_seconds_count{route="passthrough"}"#) }
            #expect(line.map { $0.hasSuffix(" 1") } == true, "\(line ?? "no line")")
        }
    }
}

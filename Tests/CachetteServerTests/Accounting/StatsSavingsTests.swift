import CachetteCore
@testable import CachetteServer
import Foundation
import Testing

@Suite("Savings in /stats")
struct StatsSavingsTests {
    @Test("/stats has dollars and per-model figures for a window, kept across a restart")
    func savings() async throws {
        let database = Harness.temporaryDatabase()
        try await Harness.run(database: database) { h in
            expectCache(try await h.post(), "MISS")
            expectCache(try await h.post(), "HIT")
            let stats = try await h.json("/stats?window=1h")
            #expect(stats["window"] == .string("1h"))
            let model = try #require(stats["models"]?["gpt-4o"])
            #expect(model["requests"]?.intValue == 2 && model["hits"]?.intValue == 1)
            #expect(model["input_tokens"]?.intValue == 11 && model["output_tokens"]?.intValue == 7)
            #expect(model["saved_tokens"]?.intValue == 18)
            // gpt-4o at 2.50 in, 10.00 out per million: 11 × 2.5 + 7 × 10 = 97.5 per million.
            #expect(stats["cost"]?["spent_usd"]?.doubleValue.map { abs($0 - 0.0000975) < 1e-9 } == true)
            #expect(stats["cost"]?["saved_usd"]?.doubleValue.map { abs($0 - 0.0000975) < 1e-9 } == true)
            #expect(stats["hits"]?.intValue == 1, "the top-level fields stay as they were")
            let bad = try await h.get("/stats?window=2h")
            #expect(bad.status == .badRequest)
            #expect(bad.text.contains("invalid_window"))
        }
        try await Harness.run(database: database) { h in
            let all = try await h.json("/stats")
            #expect(all["window"] == .string("all"))
            #expect(all["models"]?["gpt-4o"]?["requests"]?.intValue == 2)
            let hour = try await h.json("/stats?window=1h")
            #expect(hour["models"]?["gpt-4o"]?["hits"]?.intValue == 1)
        }
    }

    @Test("an answer without usage has its tokens counted, stored, and marked")
    func countedWhenMissing() async throws {
        let upstream = FakeUpstream()
        upstream.reply(
            .init(
                body:
                    #"{"id":"x","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hello world"},"finish_reason":"stop"}]}"#
            ))
        try await Harness.run(upstream: upstream) { h in
            expectCache(try await h.post(), "MISS")
            expectCache(try await h.post(), "HIT")
            let model = try #require(try await h.json("/stats")["models"]?["gpt-4o"])
            // Prompt: 3 + (3 + "user" 1 + "Say hello" 2) = 9 with o200k; completion "hello world" = 2.
            #expect(model["input_tokens"]?.intValue == 9)
            #expect(model["output_tokens"]?.intValue == 2)
            #expect(model["saved_tokens"]?.intValue == 11, "the hit reuses the counted usage stored with the entry")
        }
    }
}

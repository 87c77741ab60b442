import CachetteCore
import Foundation
import GRDB
import HTTPTypes
import Testing

@Suite("Prompt compression on the way upstream")
struct CompressionForwardingTests {
    /// A tool result as agents send it: pretty-printed JSON.
    static let body: String = {
        let result = (1...20).map { "    {\n      \"id\": \($0),\n      \"status\": \"ok\",\n      \"latency_ms\": \($0 * 7)\n    }" }
            .joined(separator: ",\n")
        let content = "{\n  \"results\": [\n\(result)\n  ]\n}"
        let messages: JSONValue = .array([
            .object(["role": .string("user"), "content": .string("Check the services.")]),
            .object(["role": .string("tool"), "tool_call_id": .string("call_1"), "content": .string(content)]),
        ])
        return JSONValue.object(["model": .string("gpt-4o"), "messages": messages]).jsonString
    }()

    @Test("the forwarded prompt is compressed, the key is the original's, and the savings are counted apart")
    func compressed() async throws {
        try await Harness.run { h in
            let miss = try await h.post("/v1/chat/completions", Self.body)
            expectCache(miss, "MISS")
            let saved = Int(miss.headers[HTTPField.Name("x-cachette-tokens-saved")!] ?? "") ?? 0
            #expect(saved > 100)
            // Upstream got the minified tool result, with the same parsed value.
            let forwarded = try JSONValue.parse(h.upstream.lastBody)
            let original = try JSONValue.parse(Self.body)
            let sent = try #require(forwarded["messages"]?.arrayValue?[1]["content"]?.stringValue)
            #expect(!sent.contains("\n"))
            #expect(try JSONValue.parse(sent) == JSONValue.parse(original["messages"]!.arrayValue![1]["content"]!.stringValue!))
            #expect(forwarded["messages"]?.arrayValue?[1]["tool_call_id"] == .string("call_1"))

            // The key is computed on the original request: the same request hits.
            expectCache(try await h.post("/v1/chat/completions", Self.body), "HIT")
            let stats = try await h.json("/stats")
            #expect(stats["compressed_requests"]?.intValue == 1)
            let model = try #require(stats["models"]?["gpt-4o"])
            #expect(model["saved_compression_tokens"]?.intValue == saved)
            #expect(model["saved_cache_tokens"]?.intValue == 18)
            #expect((stats["cost"]?["saved_compression_usd"]?.doubleValue ?? 0) > 0)
            let metrics = try await h.get("/metrics").text
            #expect(metrics.contains("cachette_tokens_total{model=\"gpt-4o\",kind=\"saved_compression\"} \(saved)"))
            // The ledger's count before compression is the upstream's prompt tokens plus what was saved.
            _ = try await h.get("/stats/recent")  // flushes the ledger
            let befores = try await DatabaseQueue(path: h.config.cache.path).read { db in
                try Int.fetchAll(db, sql: "SELECT prompt_tokens_before_compression FROM ledger ORDER BY time")
            }
            #expect(befores == [11 + saved, 0])
        }
    }

    @Test("x-cachette-compress: off sends the prompt as it came")
    func controls() async throws {
        try await Harness.run { h in
            let off = try await h.post("/v1/chat/completions", Self.body, headers: [HTTPField.Name("x-cachette-compress")!: "off"])
            expectCache(off, "MISS")
            #expect(off.headers[HTTPField.Name("x-cachette-tokens-saved")!] == nil)
            #expect(h.upstream.lastBody == Self.body)
        }
    }

    @Test("an x-cachette-compress level other than off, safe or aggressive is a 400")
    func badLevel() async throws {
        try await Harness.run { h in
            let bad = try await h.post("/v1/chat/completions", Self.body, headers: [HTTPField.Name("x-cachette-compress")!: "max"])
            #expect(bad.status == .badRequest)
            #expect(bad.text.contains("invalid_compression_level"))
        }
    }

    @Test("compression.level: off turns compression off for every request")
    func configuredOff() async throws {
        try await Harness.run(configure: { $0.compression.level = .off }) { h in
            _ = try await h.post("/v1/chat/completions", Self.body)
            #expect(h.upstream.lastBody == Self.body)
        }
    }

    @Test("aggressive strips code comments on the way up and is cached apart from safe")
    func aggressive() async throws {
        let review = "Review this:\n```python\n# Adds one.\ndef inc(x):  # why not\n    return x + 1\n```"
        let body = JSONValue.object([
            "model": .string("gpt-4o"),
            "messages": .array([.object(["role": .string("user"), "content": .string(review)])]),
        ]).jsonString
        let aggressive: HTTPFields = [HTTPField.Name("x-cachette-compress")!: "aggressive"]
        try await Harness.run { h in
            let miss = try await h.post("/v1/chat/completions", body, headers: aggressive)
            expectCache(miss, "MISS")
            let sent = try JSONValue.parse(h.upstream.lastBody)["messages"]?.arrayValue?[0]["content"]?.stringValue
            #expect(sent == "Review this:\n```python\ndef inc(x):\n    return x + 1\n```")
            #expect(Int(miss.headers[HTTPField.Name("x-cachette-tokens-saved")!] ?? "") ?? 0 > 5)
            expectCache(try await h.post("/v1/chat/completions", body, headers: aggressive), "HIT")
            // The same request at safe was never answered from the full prompt: a miss, sent with its comments.
            expectCache(try await h.post("/v1/chat/completions", body), "MISS")
            #expect(try JSONValue.parse(h.upstream.lastBody)["messages"]?.arrayValue?[0]["content"]?.stringValue == review)
            expectCache(try await h.post("/v1/chat/completions", body, headers: [HTTPField.Name("x-cachette-compress")!: "off"]), "HIT")
            #expect(h.upstream.calls == 2)
        }
        // compression.level: aggressive in the config does the same without the header.
        try await Harness.run(configure: { $0.compression.level = .aggressive }) { h in
            _ = try await h.post("/v1/chat/completions", body)
            #expect(try JSONValue.parse(h.upstream.lastBody)["messages"]?.arrayValue?[0]["content"]?.stringValue?.contains("#") == false)
        }
    }
}

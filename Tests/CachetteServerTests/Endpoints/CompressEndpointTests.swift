import CachetteCore
import CachetteServer
import HTTPTypes
import HummingbirdTesting
import Testing

/// LiteLLM's `headroom` guardrail contract (`litellm/proxy/guardrails/guardrail_hooks/headroom`).
@Suite("POST /v1/compress")
struct CompressEndpointTests {
    static let pretty = "{\n  \"rows\": [\n    1,\n    2,\n    3\n  ],\n  \"ok\": true\n}"
    static let document = (1...40).map { "Clause \($0) of the agreement applies." }.joined(separator: "  ")
    static let body = JSONValue.object([
        "model": .string("gpt-4o"),
        "messages": .array([
            .object(["role": .string("user"), "content": .string(document)]),
            .object(["role": .string("tool"), "tool_call_id": .string("call_1"), "content": .string(pretty)]),
            .object(["role": .string("user"), "content": .string(document)]),
            .object(["role": .string("tool"), "tool_call_id": .string("call_2"), "content": .string(pretty)]),
        ]),
    ]).jsonString

    @Test("the same rows back, compressed one by one with no reference across rows, counted and booked as route compress")
    func contract() async throws {
        try await Harness.run { h in
            let answer = try await h.post("/v1/compress", Self.body)
            #expect(answer.status == .ok)
            let reply = try JSONValue.parse(answer.body.readableBytesView)
            let messages = reply["messages"]?.arrayValue ?? []
            let squeezed = Self.document.replacingOccurrences(of: "  ", with: " ")
            #expect(
                messages.map { $0["content"] } == [
                    .string(squeezed), .string(#"{"rows":[1,2,3],"ok":true}"#), .string(squeezed), .string(#"{"rows":[1,2,3],"ok":true}"#),
                ])
            #expect(messages.map { $0["tool_call_id"] } == [nil, .string("call_1"), nil, .string("call_2")])
            let before = reply["tokens_before"]?.intValue ?? 0, after = reply["tokens_after"]?.intValue ?? 0
            let tokenizer = try Tokenizer.shared(.o200k)
            #expect(before == 2 * tokenizer.count(Self.document) + 2 * tokenizer.count(Self.pretty))
            #expect(after == 2 * tokenizer.count(squeezed) + 2 * tokenizer.count(#"{"rows":[1,2,3],"ok":true}"#))
            #expect(reply["tokens_saved"]?.intValue == before - after && before > after)
            #expect(reply["compression_ratio"]?.doubleValue == Double(after) / Double(before))
            #expect(reply["transforms_applied"] == .array([.string("json_minify"), .string("whitespace")]))
            #expect(h.upstream.calls == 0)

            let stats = try await h.json("/stats")
            #expect(stats["answered_locally"]?.intValue == 1 && stats["requests"]?.intValue == 1 && stats["misses"]?.intValue == 0)
            #expect(stats["models"]?["gpt-4o"]?["saved_compression_tokens"]?.intValue == before - after)
            #expect(stats["models"]?["gpt-4o"]?["saved_compression_usd"]?.doubleValue ?? 0 > 0, "gpt-4o has a price")
            #expect(stats["models"]?["gpt-4o"]?["spent_usd"]?.doubleValue == 0)
            let recent = try await h.json("/stats/recent")["requests"]?.arrayValue?.first
            #expect(recent?["route"] == .string("compress") && recent?["outcome"] == .string("local"))
            let metrics = String(buffer: try await h.get("/metrics").body)
            #expect(metrics.contains(#"cachette_requests_total{route="compress",outcome="local",model="gpt-4o"} 1"#))
            #expect(metrics.contains(#"cachette_tokens_total{model="gpt-4o",kind="saved_compression"} \#(before - after)"#))
        }
    }

    @Test("level from the body, else compression.level; an unpriced model saves tokens and no dollars")
    func levels() async throws {
        try await Harness.run(configure: { $0.compression.level = .off }) { h in
            let untouched = try JSONValue.parse(try await h.post("/v1/compress", Self.body).body.readableBytesView)
            #expect(untouched["tokens_saved"] == .int(0) && untouched["transforms_applied"] == .array([]))
            #expect(untouched["compression_ratio"] == .double(1))
            var body = try JSONValue.parse(Self.body)
            body.set("level", .string("safe"))
            body.set("model", .string("house-model-7b"))
            let compressed = try JSONValue.parse(try await h.post("/v1/compress", body.jsonString).body.readableBytesView)
            #expect(compressed["tokens_saved"]?.intValue ?? 0 > 0)
            let model = try await h.json("/stats")["models"]?["house-model-7b"]
            #expect(model?["saved_compression_tokens"] == compressed["tokens_saved"])
            #expect(model?["saved_usd"]?.doubleValue == 0)
        }
    }

    @Test("bad input is a 400 in OpenAI's shape, booked as rejected; web pages are refused")
    func refusals() async throws {
        try await Harness.run(configure: { $0.server.maxBodyBytes = 4096 }) { h in
            let cases: [(String, String)] = [
                ("hello", "invalid_json"),
                (#"{"model":"gpt-4o"}"#, "invalid_messages"),
                (#"{"messages":[{"content":"no role"}]}"#, "invalid_messages"),
                (#"{"messages":["text"]}"#, "invalid_messages"),
                (#"{"messages":[],"model":7}"#, "invalid_model"),
                (#"{"messages":[],"model":"\#(String(repeating: "m", count: 300))"}"#, "invalid_model"),
                (#"{"messages":[],"model":"gpt\u0001"}"#, "invalid_model"),
                (#"{"messages":[],"level":"maximal"}"#, "invalid_level"),
            ]
            for (body, code) in cases {
                let answer = try await h.post("/v1/compress", body)
                #expect(answer.status == .badRequest, "\(body)")
                #expect(answer.text.contains(#""code":"\#(code)""#), "\(body): \(answer.text)")
            }
            let large = try await h.post("/v1/compress", #"{"messages":[{"role":"user","content":"\#(String(repeating: "a", count: 5000))"}]}"#)
            #expect(large.status == .contentTooLarge)
            let page = try await h.post("/v1/compress", Self.body, headers: [.origin: "https://evil.example"])
            #expect(page.status == .forbidden)
            let empty = try JSONValue.parse(try await h.post("/v1/compress", #"{"messages":[]}"#).body.readableBytesView)
            #expect(empty["messages"] == .array([]) && empty["tokens_before"] == .int(0))
            let stats = try await h.json("/stats")
            #expect(stats["rejected"]?.intValue == cases.count + 1 && stats["answered_locally"]?.intValue == 1)
        }
    }
}

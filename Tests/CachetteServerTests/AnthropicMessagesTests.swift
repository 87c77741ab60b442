import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import Testing

@Suite("Anthropic /v1/messages, natively")
struct AnthropicMessagesTests {
    static let body = #"{"model":"claude-sonnet-4-6","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":"Say hello"}]}"#
    static let headers: HTTPFields = [
        HTTPField.Name("x-api-key")!: "sk-ant-test", HTTPField.Name("anthropic-version")!: "2023-06-01",
        .authorization: "",
    ]

    static func routed(_ config: inout CachetteConfig) {
        let base = config.upstream.baseURL
        config.upstreams = [.init(name: "anthropic", baseURL: base, format: .anthropic, models: ["claude-*"]), .init(name: "default", baseURL: base)]
    }

    @Test("cached under the same key rules; x-api-key and anthropic-version pass through; usage counts cache reads and writes")
    func cached() async throws {
        try await Harness.run(configure: Self.routed) { h in
            let miss = try await h.post("/v1/messages", Self.body, headers: Self.headers)
            expectCache(miss, "MISS")
            #expect(h.upstream.lastHeaders[HTTPField.Name("x-api-key")!] == "sk-ant-test")
            #expect(h.upstream.lastHeaders[HTTPField.Name("anthropic-version")!] == "2023-06-01")
            // Whitespace and key order do not change the key.
            let reordered = #"{"messages":[{"content":"Say hello","role":"user"}], "max_tokens":64, "model":"claude-sonnet-4-6","system":"Be brief."}"#
            let hit = try await h.post("/v1/messages", reordered, headers: Self.headers)
            expectCache(hit, "HIT")
            #expect(hit.text == miss.text)
            #expect(h.upstream.calls(to: "/v1/messages") == 1)
            // Another key does not see it.
            var other = Self.headers
            other[HTTPField.Name("x-api-key")!] = "sk-ant-other"
            expectCache(try await h.post("/v1/messages", Self.body, headers: other), "MISS")

            let stats = try await h.json("/stats")
            let model = try #require(stats["models"]?["claude-sonnet-4-6"])
            #expect(model["input_tokens"]?.intValue == 2 * 1110, "input + cache writes + cache reads, for the two upstream calls")
            #expect(model["cached_input_tokens"]?.intValue == 2000)
        }
    }

    @Test("anthropic-beta is part of the key")
    func beta() async throws {
        try await Harness.run(configure: Self.routed) { h in
            var beta = Self.headers
            beta[HTTPField.Name("anthropic-beta")!] = "prompt-caching-2024-07-31"
            expectCache(try await h.post("/v1/messages", Self.body, headers: Self.headers), "MISS")
            expectCache(try await h.post("/v1/messages", Self.body, headers: beta), "MISS")
            expectCache(try await h.post("/v1/messages", Self.body, headers: beta), "HIT")
            #expect(h.upstream.lastHeaders[HTTPField.Name("anthropic-beta")!] == "prompt-caching-2024-07-31")
            #expect(h.upstream.calls(to: "/v1/messages") == 2)
        }
    }

    @Test("streams are relayed live (not yet recorded); count_tokens is forwarded; an OpenAI-format route is refused")
    func passthrough() async throws {
        try await Harness.run(configure: Self.routed) { h in
            let streamBody = Self.body.replacingOccurrences(of: #""max_tokens":64"#, with: #""max_tokens":64,"stream":true"#)
            let stream = try await h.post("/v1/messages", streamBody, headers: Self.headers)
            expectCache(stream, "BYPASS")
            #expect(stream.text.hasPrefix("event: message_start") && stream.text.contains("event: message_stop"))
            _ = try await h.post("/v1/messages", streamBody, headers: Self.headers)
            #expect(h.upstream.calls(to: "/v1/messages") == 2)

            let count = try await h.post("/v1/messages/count_tokens", Self.body, headers: Self.headers)
            #expect(count.status == .ok && count.text == #"{"input_tokens":42}"#)
            #expect(h.upstream.calls(to: "/v1/messages/count_tokens") == 1)

            let gpt = try await h.post("/v1/messages", #"{"model":"gpt-4o","max_tokens":5,"messages":[]}"#, headers: Self.headers)
            #expect(gpt.status == .badRequest && gpt.text.contains("unsupported_upstream_format"))
        }
    }
}

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

    /// A Claude Code request: its first system block carries a new `cch` every time.
    static func claudeCode(cch: String) -> String {
        #"""
        {"model":"claude-sonnet-4-6","max_tokens":64,"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.3.a1; cc_entrypoint=cli; cch=\#(cch);"},{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude."}],"messages":[{"role":"user","content":"List the files."}]}
        """#
    }

    @Test("Claude Code requests that differ only in the billing header's cch are one entry, online and offline; the header is forwarded as sent")
    func billingHeaderIgnored() async throws {
        let database = Harness.temporaryDatabase()
        try await Harness.run(database: database, configure: Self.routed) { h in
            expectCache(try await h.post("/v1/messages", Self.claudeCode(cch: "0a1b2"), headers: Self.headers), "MISS")
            #expect(h.upstream.lastBody.contains("cch=0a1b2;"), "the bytes go upstream unchanged")
            let again = try await h.post("/v1/messages", Self.claudeCode(cch: "9f8e7"), headers: Self.headers)
            expectCache(again, "HIT")
            #expect(h.upstream.calls(to: "/v1/messages") == 1)
        }
        try await Harness.run(
            database: database,
            configure: {
                Self.routed(&$0)
                $0.cache.mode = .offline
            }
        ) { h in
            expectCache(try await h.post("/v1/messages", Self.claudeCode(cch: "c0ffe"), headers: Self.headers), "HIT")
            #expect(h.upstream.calls == 0, "replayed offline")
        }
    }

    @Test("through the billing fake: a client's own breakpoint is written, then read, and the reads are booked as cached input")
    func providerCacheBilled() async throws {
        let billing = PromptCacheBilling()
        try await Harness.run(upstream: FakeUpstream(billing: billing), configure: Self.routed) { h in
            func turn(_ question: String) -> String {
                String(decoding: PromptCacheBillingTests.request(turns: 1, firstTurn: question).serialized(), as: UTF8.self)
            }
            let first = try await h.post("/v1/messages", turn("What is WAL?"), headers: Self.headers)
            expectCache(first, "MISS")
            let written = try JSONValue.parse(first.text)["usage"]?["cache_creation_input_tokens"]?.intValue ?? 0
            #expect(written > 1024)
            let second = try await h.post("/v1/messages", turn("And checkpoints?"), headers: Self.headers)
            expectCache(second, "MISS")
            #expect(try JSONValue.parse(second.text)["usage"]?["cache_read_input_tokens"]?.intValue == written)
            try await eventually { try await h.json("/stats")["models"]?["claude-sonnet-4-6"]?["cached_input_tokens"]?.intValue == written }
        }
    }

    @Test("/v1/messages is cached under the same key rules, per credential")
    func cached() async throws {
        try await Harness.run(configure: Self.routed) { h in
            let miss = try await h.post("/v1/messages", Self.body, headers: Self.headers)
            expectCache(miss, "MISS")
            // Whitespace and key order do not change the key.
            let reordered =
                #"{"messages":[{"content":"Say hello","role":"user"}], "max_tokens":64, "model":"claude-sonnet-4-6","system":"Be brief."}"#
            let hit = try await h.post("/v1/messages", reordered, headers: Self.headers)
            expectCache(hit, "HIT")
            #expect(hit.text == miss.text)
            #expect(h.upstream.calls(to: "/v1/messages") == 1)
            // Another key does not see it.
            var other = Self.headers
            other[HTTPField.Name("x-api-key")!] = "sk-ant-other"
            expectCache(try await h.post("/v1/messages", Self.body, headers: other), "MISS")
        }
    }

    @Test("x-api-key and anthropic-version pass through to the upstream")
    func anthropicHeaders() async throws {
        try await Harness.run(configure: Self.routed) { h in
            expectCache(try await h.post("/v1/messages", Self.body, headers: Self.headers), "MISS")
            #expect(h.upstream.lastHeaders[HTTPField.Name("x-api-key")!] == "sk-ant-test")
            #expect(h.upstream.lastHeaders[HTTPField.Name("anthropic-version")!] == "2023-06-01")
        }
    }

    @Test("usage counts prompt-cache reads and writes, each at its own price")
    func cacheUsage() async throws {
        try await Harness.run(configure: Self.routed) { h in
            var other = Self.headers
            other[HTTPField.Name("x-api-key")!] = "sk-ant-other"
            expectCache(try await h.post("/v1/messages", Self.body, headers: Self.headers), "MISS")
            expectCache(try await h.post("/v1/messages", Self.body, headers: other), "MISS")
            try await eventually { try await h.json("/stats")["models"]?["claude-sonnet-4-6"]?["requests"]?.intValue == 2 }
            let stats = try await h.json("/stats")
            let model = try #require(stats["models"]?["claude-sonnet-4-6"])
            #expect(model["input_tokens"]?.intValue == 2 * 1110, "input + cache writes + cache reads, for the two upstream calls")
            #expect(model["cached_input_tokens"]?.intValue == 2000)
            // Shipped Sonnet prices: 10 plain at $3, 100 written at $3.75, 1000 read at $0.30, 7 out at $15 (per million).
            let spent = try #require(model["spent_usd"]?.doubleValue)
            #expect(abs(spent - 2 * 810e-6) < 1e-9, "cache writes at their own price: \(spent)")
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

    static let streamBody = body.replacingOccurrences(of: #""max_tokens":64"#, with: #""max_tokens":64,"stream":true"#)
    static let streamHeaders = [("x-api-key", "sk-ant-test"), ("anthropic-version", "2023-06-01"), ("authorization", "")]

    @Test("an Anthropic stream is recorded and replayed byte for byte, and a non-stream request gets the message assembled from it")
    func streamReplay() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(stream: FakeUpstream.anthropicToolStream()))
        try await Harness.run(upstream: upstream, configure: Self.routed) { h in
            let miss = try await h.stream(Self.streamBody, path: "/v1/messages", headers: Self.streamHeaders)
            #expect(miss.xCache == "MISS" && miss.contentType == "text/event-stream")
            #expect(miss.events.first?.name == "message_start" && miss.events.last?.name == "message_stop")
            #expect(!h.upstream.lastBody.contains("stream_options"), "Anthropic is not asked for OpenAI's usage option")
            let hit = try await h.stream(Self.streamBody, path: "/v1/messages", headers: Self.streamHeaders)
            #expect(hit.xCache == "HIT")
            #expect(
                hit.text == miss.text.replacingOccurrences(of: "event: ping\ndata: {\"type\":\"ping\"}\n\n", with: ""),
                "the replay is the recording: every event but the keep-alive ping, byte for byte")
            #expect(upstream.calls(to: "/v1/messages") == 1)

            let whole = try await h.post("/v1/messages", Self.body, headers: Self.headers)
            expectCache(whole, "HIT")
            let message = try JSONValue.parse(whole.text)
            #expect(message["type"]?.stringValue == "message" && message["stop_reason"]?.stringValue == "tool_use")
            #expect(message["content"]?.arrayValue?.first?["text"]?.stringValue == "Let me check ✓")
            #expect(message["content"]?.arrayValue?.last?["input"] == .object(["city": .string("Paris")]))
            #expect(upstream.calls(to: "/v1/messages") == 1)
            #expect(try await h.statsValue("hits") == 2)
            let stats = try await h.json("/stats")
            #expect(stats["models"]?["claude-sonnet-4-6"]?["input_tokens"]?.intValue == 230, "input + cache reads, from message_start")
            #expect(stats["models"]?["claude-sonnet-4-6"]?["output_tokens"]?.intValue == 12, "output from message_delta")
        }
    }

    @Test("a stored message streams as Anthropic's event sequence")
    func synthesized() async throws {
        let upstream = FakeUpstream()
        try await Harness.run(upstream: upstream, configure: Self.routed) { h in
            expectCache(try await h.post("/v1/messages", Self.body, headers: Self.headers), "MISS")
            let streamed = try await h.stream(Self.streamBody, path: "/v1/messages", headers: Self.streamHeaders)
            #expect(streamed.xCache == "HIT")
            #expect(
                streamed.events.map { $0.name ?? "" } == [
                    "message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
                ])
            #expect(streamed.text.contains(#""text":"answer number 1""#))
        }
    }

    @Test("identical concurrent Anthropic streams share one upstream call, byte for byte")
    func shared() async throws {
        let upstream = FakeUpstream()
        try await Harness.run(upstream: upstream, configure: Self.routed) { h in
            upstream.reply(.init(stream: FakeUpstream.anthropicToolStream(hold: true)))
            let other = Self.streamBody.replacingOccurrences(of: "Say hello", with: "Weather?")
            let streams = Task {
                try await withThrowingTaskGroup(of: ReceivedStream.self) { group in
                    for _ in 0..<5 { group.addTask { try await h.stream(other, path: "/v1/messages", headers: Self.streamHeaders) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            try await eventually { upstream.calls(to: "/v1/messages") == 1 }
            // Time for all five to join on a busy machine: one arriving after the end would be
            // served the recording, which (rightly) has no ping, and so differ.
            try await Task.sleep(for: .seconds(1))
            upstream.releaseStreams()
            let results = try await streams.value
            #expect(upstream.calls(to: "/v1/messages") == 1, "five identical streams, one upstream call")
            #expect(results.filter { $0.xCache == "MISS" }.count == 1)
            #expect(Set(results.map(\.raw)).count == 1)
        }
    }

    @Test("a stream that fails gets one Anthropic error event, and nothing is stored")
    func streamFailure() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(stream: Array(FakeUpstream.anthropicToolStream().prefix(4)) + [.fail]))
        try await Harness.run(upstream: upstream, configure: Self.routed) { h in
            let cut = try await h.stream(Self.streamBody, path: "/v1/messages", headers: Self.streamHeaders)
            let last = try #require(cut.events.last)
            #expect(last.name == "error")
            #expect(try JSONValue.parse(last.data)["error"]?["type"]?.stringValue == "api_error")
            #expect(try JSONValue.parse(last.data)["error"]?["message"]?.stringValue?.contains("broke after it began") == true, "\(last.data)")
            #expect(cut.events.filter { $0.name == "error" }.count == 1)

            upstream.reply(
                .init(
                    stream: Array(FakeUpstream.anthropicToolStream().prefix(3))
                        + [.event("error", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)]))
            let refused = try await h.stream(Self.streamBody, path: "/v1/messages", headers: Self.streamHeaders)
            #expect(refused.events.filter { $0.name == "error" }.count == 1, "the upstream's own error event, not a second one")
            #expect(refused.text.contains("overloaded_error"))

            upstream.reply(.init())
            let fresh = try await h.stream(Self.streamBody, path: "/v1/messages", headers: Self.streamHeaders)
            #expect(fresh.xCache == "MISS", "neither failed stream was stored")
            #expect(upstream.calls(to: "/v1/messages") == 3)
        }
    }

    @Test("count_tokens and Anthropic's other paths are forwarded to the anthropic upstream")
    func passthrough() async throws {
        try await Harness.run(configure: Self.routed) { h in
            let count = try await h.post("/v1/messages/count_tokens", Self.body, headers: Self.headers)
            #expect(count.status == .ok && count.text == #"{"input_tokens":42}"#)
            #expect(h.upstream.calls(to: "/v1/messages/count_tokens") == 1)
            // Anthropic's other paths (batches) go to the anthropic upstream, which adds its version header.
            _ = try await h.post("/v1/messages/batches", #"{"requests":[]}"#, headers: [HTTPField.Name("x-api-key")!: "sk-ant-test"])
            #expect(h.upstream.calls(to: "/v1/messages/batches") == 1)
            #expect(h.upstream.lastHeaders[HTTPField.Name("anthropic-version")!] == "2023-06-01")
        }
    }

    @Test("a /v1/messages request for a model routed to an OpenAI-format upstream is refused")
    func otherFormatRefused() async throws {
        try await Harness.run(configure: Self.routed) { h in
            let gpt = try await h.post("/v1/messages", #"{"model":"gpt-4o","max_tokens":5,"messages":[]}"#, headers: Self.headers)
            #expect(gpt.status == .badRequest && gpt.text.contains("unsupported_upstream_format"))
            #expect(h.upstream.calls == 0)
        }
    }

    @Test("Cachette's own errors read as Anthropic's error shape as well as OpenAI's")
    func errorsInBothShapes() async throws {
        try await Harness.run(configure: Self.routed) { h in
            let broken = try JSONValue.parse(try await h.post("/v1/messages", #"{"model":"#, headers: Self.headers).text)
            #expect(broken["type"]?.stringValue == "error" && broken["error"]?["type"]?.stringValue == "invalid_request_error")
            #expect(broken["error"]?["message"]?.stringValue?.isEmpty == false)
        }
    }
}

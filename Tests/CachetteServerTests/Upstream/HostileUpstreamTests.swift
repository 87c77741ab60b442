import AsyncHTTPClient
import CachetteCore
import CachetteServer
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// An upstream can send anything. Whatever it sends, the sidecar keeps serving, the
/// client gets a clear answer, nothing wrong is stored and /stats stays sane.
@Suite("A hostile upstream: survive, answer, store nothing")
struct HostileUpstreamTests {
    static let huge = "1180591620717411303424"

    /// Non-streamed 2xx answers that must be relayed but never stored.
    static let badAnswers: [(String, FakeUpstream.Reply)] = [
        ("nested choices", .init(body: #"{"choices":[[["x"]]]}"#)),
        (
            "negative index and usage",
            .init(body: #"{"choices":[{"index":-5,"message":{"content":"x"}}],"usage":{"prompt_tokens":-3,"completion_tokens":-4}}"#)
        ),
        (
            "usage past Int64",
            .init(
                body:
                    #"{"choices":[{"index":0,"message":{"content":"x"}}],"usage":{"prompt_tokens":\#(huge),"completion_tokens":9223372036854775807}}"#
            )
        ),
        ("choices null", .init(body: #"{"choices":null}"#)),
        ("choices without index", .init(body: #"{"choices":[{"message":{"content":"x"}}]}"#)),
        ("truncated JSON", .init(body: #"{"choices":[{"index":0,"message":{"content":"x"#)),
        ("HTML with 200", .init(body: "<html><body>Service Unavailable</body></html>", contentType: "text/html")),
        ("empty 200", .init(body: "")),
        ("invalid UTF-8", .init(bytes: Array(#"{"choices":[{"index":0,"message":{"content":""#.utf8) + [0xFF, 0xC3] + Array(#""}}]}"#.utf8))),
        (
            "an event stream to a non-stream request",
            .init(body: "data: {\"choices\":[{\"index\":0,\"delta\":{}}]}\n\ndata: [DONE]\n\n", contentType: "text/event-stream")
        ),
        ("unrequested gzip", .init(body: "\u{1F}\u{8B}not really gzip", headers: ["Content-Encoding": "gzip"])),
        (
            "100,000 nested arrays",
            .init(body: #"{"choices":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}")
        ),
    ]

    @Test("bad non-streamed answers are relayed once and never served as hits", arguments: badAnswers.map(\.0))
    func nonStreamed(name: String) async throws {
        let reply = try #require(Self.badAnswers.first { $0.0 == name }?.1)
        try await Harness.run { h in
            h.upstream.reply(reply)
            let first = try await h.post()
            #expect(first.status == .ok, "relayed as the upstream sent it")
            #expect(first.xCache == "MISS")
            let second = try await h.post()
            #expect(second.xCache == "MISS", "never stored")
            #expect(h.upstream.calls == 2)
            let stats = try await h.json("/stats")
            #expect(stats["refused"]?["invalid_answers"]?.intValue == 2)
            #expect(stats["cache"]?["entries"]?.intValue == 0)
            let input = stats["token_usage"]?["input"]?.intValue ?? -1
            #expect((0...(2 * TokenUsage.maxCount)).contains(input), "clamped, never negative")
            // Still serving: a good answer is stored and hit.
            h.upstream.reply(.init())
            _ = try await h.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"ok?"}]}"#)
            try await eventually {
                try await h.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"ok?"}]}"#).xCache == "HIT"
            }
        }
    }

    static func chunk(_ choices: String, usage: String? = nil) -> FakeUpstream.Step { .data(ChatChunk.json(choices, usage: usage)) }

    static let badStreams: [(String, [FakeUpstream.Step])] = [
        (
            "tool call index -1",
            [
                chunk(#"{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}}]}}"#),
                chunk(#"{"index":0,"delta":{"tool_calls":[{"index":-1,"function":{"arguments":"x"}}]}}"#),
                chunk(#"{"index":0,"delta":{},"finish_reason":"tool_calls"}"#), .done,
            ]
        ),
        (
            "usage past Int64",
            [
                chunk(#"{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}"#),
                chunk("", usage: #"{"prompt_tokens":\#(huge),"completion_tokens":-1}"#), .done,
            ]
        ),
        (
            "choice without index",
            [chunk(#"{"delta":{"content":"lost"}}"#), chunk(#"{"index":0,"delta":{"content":"kept"},"finish_reason":"stop"}"#), .done]
        ),
        ("non-JSON data", [.raw("data: this is not json\n\n"), chunk(#"{"index":0,"delta":{},"finish_reason":"stop"}"#), .done]),
        ("no [DONE]", [chunk(#"{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}"#)]),
        ("a 5 MB line", [.raw("data: " + String(repeating: "x", count: 5 << 20) + "\n\n"), .done]),
        ("cut mid-stream", [chunk(#"{"index":0,"delta":{"content":"hi"}}"#), .fail]),
        ("stalls past upstream.idle_timeout", [chunk(#"{"index":0,"delta":{"content":"hi"}}"#), .sleep(.seconds(8)), .done]),
        ("unrequested gzip", [.raw("data: \u{1F}\u{8B}\u{08}junk\n\n"), .done]),
    ]

    @Test("bad streams are relayed and never stored", arguments: badStreams.map(\.0))
    func streamed(name: String) async throws {
        let steps = try #require(Self.badStreams.first { $0.0 == name }?.1)
        try await Harness.run(configure: {
            $0.stream.maxBufferedBytes = 1 << 20
            // Under the stall for the stall; for the rest, well over a busy machine's pauses.
            $0.upstream.idleTimeout = name.hasPrefix("stalls") ? .seconds(4) : .seconds(30)
        }) { h in
            h.upstream.reply(.init(stream: steps, headers: name == "unrequested gzip" ? ["Content-Encoding": "gzip"] : [:]))
            let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true}"#
            for _ in 0..<2 {
                let response = try await HTTPClient.shared.execute(
                    h.clientRequest("/v1/chat/completions", .bytes(ByteBuffer(string: body))), timeout: .seconds(30))
                #expect(response.status == .ok)
                #expect(response.headers["x-cache"].first == "MISS")
                _ = try? await response.body.collect(upTo: 16 << 20)
            }
            #expect(h.upstream.calls == 2, "nothing was stored")
            let stats = try await h.json("/stats")
            #expect(stats["cache"]?["entries"]?.intValue == 0)
            #expect((0...(2 * TokenUsage.maxCount)).contains(stats["token_usage"]?["input"]?.intValue ?? -1))
            #expect(try await h.get("/health").status == .ok)
        }
    }

    @Test("a translated 2xx that is not a message is a 502 upstream_invalid_response, not stored")
    func untranslatable() async throws {
        try await Harness.run(configure: { config in
            config.upstreams = [.init(name: "anthropic", baseURL: config.upstream.baseURL, format: .anthropic, models: ["claude-*"])]
        }) { h in
            h.upstream.reply(.init(body: #"{"choices":[{"index":0}]}"#))
            let body = #"{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"hi"}]}"#
            let response = try await h.post("/v1/chat/completions", body)
            #expect(response.status == .badGateway)
            #expect(response.text.contains("upstream_invalid_response"))
            #expect(try await h.post("/v1/chat/completions", body).status == .badGateway)
            #expect(h.upstream.calls == 2, "never stored")
        }
    }
}

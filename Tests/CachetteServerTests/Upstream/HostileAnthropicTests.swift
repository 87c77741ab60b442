import AsyncHTTPClient
import CachetteCore
import CachetteServer
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The same, for an Anthropic upstream: on `/v1/messages` natively, and through the
/// translation of OpenAI chat. Each case is tried streamed and not.
@Suite("A hostile Anthropic upstream, natively and through translation")
struct HostileAnthropicTests {
    static let huge = HostileUpstreamTests.huge
    static let nativeBody = #"{"model":"claude-sonnet-4-6","max_tokens":64,"messages":[{"role":"user","content":"Say hello"}]}"#
    static let chatBody = #"{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"Say hello"}]}"#

    static let badAnswers: [(String, FakeUpstream.Reply)] = [
        ("no content", .init(body: #"{"id":"m","type":"message","role":"assistant"}"#)),
        (
            "negative and huge usage",
            .init(
                body:
                    #"{"id":"m","type":"message","role":"assistant","content":[{"type":"text","text":"x"}],"usage":{"input_tokens":-5,"output_tokens":\#(huge)}}"#
            )
        ),
        ("not a message", .init(body: #"{"type":"completion","completion":"x"}"#)),
        ("truncated JSON", .init(body: #"{"id":"m","type":"message","content":[{"type":"text","text":"x"#)),
        ("HTML with 200", .init(body: "<html>busy</html>", contentType: "text/html")),
        ("empty 200", .init(body: "")),
        ("invalid UTF-8", .init(bytes: Array(#"{"type":"message","content":[{"type":"text","text":""#.utf8) + [0xFE] + Array(#""}]}"#.utf8))),
        ("unrequested gzip", .init(body: "\u{1F}\u{8B}junk", headers: ["Content-Encoding": "gzip"])),
        (
            "100,000 nested arrays",
            .init(body: #"{"type":"message","content":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}")
        ),
    ]

    static func events(_ middle: [FakeUpstream.Step], stop: Bool = true) -> [FakeUpstream.Step] {
        let start: FakeUpstream.Step = .event(
            "message_start",
            #"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-6","usage":{"input_tokens":3,"output_tokens":1}}}"#
        )
        let block: FakeUpstream.Step = .event(
            "content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)
        let end: [FakeUpstream.Step] =
            [
                .event("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
                .event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}"#),
            ] + (stop ? [.event("message_stop", #"{"type":"message_stop"}"#)] : [])
        return [start, block] + middle + end
    }

    static let badStreams: [(String, [FakeUpstream.Step])] = [
        (
            "delta for block -1",
            events([.event("content_block_delta", #"{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"x"}}"#)])
        ),
        ("usage past Int64", events([.event("message_delta", #"{"type":"message_delta","delta":{},"usage":{"output_tokens":\#(huge)}}"#)])),
        ("negative usage", events([.event("message_delta", #"{"type":"message_delta","delta":{},"usage":{"output_tokens":-3}}"#)])),
        ("non-JSON data", events([.raw("event: content_block_delta\ndata: {not json\n\n")])),
        (
            "no message_stop",
            events(
                [.event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}"#)], stop: false)
        ),
        ("a 5 MB line", events([.raw("data: " + String(repeating: "y", count: 5 << 20) + "\n\n")])),
        ("cut mid-stream", Array(events([]).prefix(2)) + [.fail]),
    ]

    static func routed(_ config: inout CachetteConfig) {
        AnthropicMessagesTests.routed(&config)
        config.stream.maxBufferedBytes = 1 << 20
    }

    @Test("bad whole answers: relayed (natively) or a 502 (translated), never stored", arguments: badAnswers.map(\.0))
    func wholeAnswers(name: String) async throws {
        let reply = try #require(Self.badAnswers.first { $0.0 == name }?.1)
        try await Harness.run(configure: Self.routed) { h in
            h.upstream.reply(reply)
            for _ in 0..<2 {
                let native = try await h.post("/v1/messages", Self.nativeBody, headers: AnthropicMessagesTests.headers)
                #expect(native.status == .ok && native.xCache == "MISS")
                let translated = try await h.post("/v1/chat/completions", Self.chatBody)
                #expect(translated.status == .badGateway)
                #expect(translated.text.contains("upstream_invalid_response"))
            }
            #expect(h.upstream.calls == 4, "nothing stored")
            let stats = try await h.json("/stats")
            #expect(stats["cache"]?["entries"]?.intValue == 0)
            #expect((0...(4 * TokenUsage.maxCount)).contains(stats["token_usage"]?["input"]?.intValue ?? -1))
        }
    }

    @Test("bad streams: relayed, natively and translated, never stored", arguments: badStreams.map(\.0))
    func streams(name: String) async throws {
        let steps = try #require(Self.badStreams.first { $0.0 == name }?.1)
        try await Harness.run(configure: Self.routed) { h in
            h.upstream.reply(.init(stream: steps))
            let native = Self.nativeBody.replacingOccurrences(of: #""max_tokens":64"#, with: #""max_tokens":64,"stream":true"#)
            let chat = Self.chatBody.replacingOccurrences(of: #""messages""#, with: #""stream":true,"messages""#)
            for _ in 0..<2 {
                var request = h.clientRequest("/v1/messages", .bytes(ByteBuffer(string: native)))
                request.headers.replaceOrAdd(name: "x-api-key", value: "sk-ant-test")
                let first = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                #expect(first.status == .ok && first.headers["x-cache"].first == "MISS")
                _ = try? await first.body.collect(upTo: 16 << 20)
                let second = try await HTTPClient.shared.execute(
                    h.clientRequest("/v1/chat/completions", .bytes(ByteBuffer(string: chat))), timeout: .seconds(30))
                #expect(second.status == .ok && second.headers["x-cache"].first == "MISS")
                _ = try? await second.body.collect(upTo: 16 << 20)
            }
            #expect(h.upstream.calls == 4, "nothing stored")
            #expect(try await h.json("/stats")["cache"]?["entries"]?.intValue == 0)
            #expect(try await h.get("/health").status == .ok)
        }
    }
}

import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import NIOCore
import Synchronization
import Testing

@Suite("Streams: record and replay")
struct StreamRecordReplayTests {
    @Test("a streamed miss is recorded, and replays give the same events, the assembled answer, or usage on request")
    func recordAndReplay() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(stream: FakeUpstream.chatStream()))
        try await Harness.run(upstream: upstream) { h in
            let miss = try await h.stream()
            #expect(miss.xCache == "MISS")
            #expect(miss.contentType == "text/event-stream")
            #expect(miss.endsWithDone)
            // Usage is always asked of the upstream, but this client did not ask for it.
            #expect(upstream.lastBody.contains(#""stream_options":{"include_usage":true}"#))
            #expect(miss.usageChunks.isEmpty)
            #expect(miss.chunks.count == 10, "\(miss.text)")

            try await eventually { try await h.statsValue("cache", "entries") == 1 }
            let replay = try await h.stream()
            #expect(replay.xCache == "HIT")
            #expect(replay.raw == miss.raw, "same events, same bytes")
            #expect(essentials(replay.accumulated) == essentials(miss.accumulated))
            #expect(essentials(miss.accumulated).first?["finish_reason"] == .string("tool_calls"))
            #expect(
                miss.accumulated["choices"]?.arrayValue?.first?["message"]?["tool_calls"]?.arrayValue?.first?["function"]?["arguments"]
                    == .string(#"{"city": "Paris"}"#))

            let withUsage = try await h.stream(Harness.streamBody(#","stream_options":{"include_usage":true}"#))
            #expect(withUsage.xCache == "HIT")
            #expect(withUsage.usageChunks.count == 1)
            #expect(withUsage.usageChunks.first?["usage"]?["completion_tokens"]?.intValue == 9)
            #expect(withUsage.events.count == miss.events.count + 1)

            let whole = try await h.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello"}]}"#)
            expectCache(whole, "HIT")
            let answer = try JSONValue.parse(whole.body.readableBytesView)
            #expect(answer["object"] == .string("chat.completion"))
            #expect(essentials(answer) == essentials(miss.accumulated))
            #expect(answer["choices"]?.arrayValue?.first?["message"]?["content"] == .string("Hello, world ✓"))
            #expect(answer["usage"]?["prompt_tokens"]?.intValue == 21)
            #expect(upstream.calls == 1)

            let stats = try await h.json("/stats")
            #expect(stats["streams"]?["requests"]?.intValue == 3)
            #expect(stats["hits"]?.intValue == 3)
            #expect(stats["misses"]?.intValue == 1)
            #expect(stats["token_usage"]?["input"]?.intValue == 21, "tokens of the miss come from its usage chunk")
            #expect(stats["token_usage"]?["cached"]?.intValue == 90)
        }
    }

    @Test("a stream request served from a non-streamed entry gets a synthesized chunk sequence")
    func synthesized() async throws {
        let upstream = FakeUpstream()
        let answer = #"""
            {"id":"chatcmpl-9","object":"chat.completion","created":1700000000,"model":"gpt-4o",\#
            "choices":[{"index":0,"message":{"role":"assistant","content":"A long enough answer that it has to be cut into several pieces, Ünïcödé included, to check boundaries.",\#
            "tool_calls":[{"id":"call_9","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}}]},"finish_reason":"tool_calls"}],\#
            "usage":{"prompt_tokens":5,"completion_tokens":30,"total_tokens":35}}
            """#
        upstream.reply(.init(body: answer))
        try await Harness.run(upstream: upstream) { h in
            expectCache(try await h.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello"}]}"#), "MISS")
            let streamed = try await h.stream(Harness.streamBody(#","stream_options":{"include_usage":true}"#))
            #expect(streamed.xCache == "HIT")
            #expect(streamed.contentType == "text/event-stream")
            #expect(streamed.endsWithDone)
            #expect(streamed.chunks.count > 4)
            #expect(streamed.chunks.first?["choices"]?.arrayValue?.first?["delta"]?["role"] == .string("assistant"))
            #expect(essentials(streamed.accumulated) == essentials(try JSONValue.parse(answer)))
            #expect(streamed.usageChunks.first?["usage"]?["total_tokens"]?.intValue == 35)
            let plain = try await h.stream()
            #expect(plain.usageChunks.isEmpty, "no usage chunk unless asked")
            #expect(upstream.calls == 1)
        }
    }

    @Test("/v1/completions streams are recorded and replayed the same way, both ways round")
    func textCompletions() async throws {
        let upstream = FakeUpstream()
        let object = "text_completion"
        upstream.reply(
            .init(stream: [
                .data(FakeUpstream.chunk(#""Once""#, object: object)),
                .data(FakeUpstream.chunk(#"" upon""#, object: object)),
                .data(FakeUpstream.chunk(#"" a time""#, finish: "length", object: object)),
                .usage(prompt: 3, completion: 3), .done,
            ]))
        let body = #"{"model":"gpt-3.5-turbo-instruct","prompt":"Tell me","stream":true}"#
        try await Harness.run(upstream: upstream) { h in
            let miss = try await h.stream(body, path: "/v1/completions")
            #expect(miss.xCache == "MISS")
            try await eventually { try await h.statsValue("cache", "entries") == 1 }
            let replay = try await h.stream(body, path: "/v1/completions")
            #expect(replay.xCache == "HIT")
            #expect(replay.raw == miss.raw)
            let whole = try await h.post("/v1/completions", #"{"model":"gpt-3.5-turbo-instruct","prompt":"Tell me"}"#)
            expectCache(whole, "HIT")
            let answer = try JSONValue.parse(whole.body.readableBytesView)
            #expect(answer["object"] == .string("text_completion"))
            #expect(answer["choices"]?.arrayValue?.first?["text"] == .string("Once upon a time"))
            #expect(answer["choices"]?.arrayValue?.first?["finish_reason"] == .string("length"))
            #expect(upstream.calls == 1)

            // And a non-streamed completion entry replays as a text_completion stream.
            upstream.reply(
                .init(
                    body:
                        #"{"id":"cmpl-2","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"Fine.","finish_reason":"stop"}]}"#
                ))
            let other = #"{"model":"m","prompt":"How are you?"}"#
            expectCache(try await h.post("/v1/completions", other), "MISS")
            let synthesized = try await h.stream(#"{"model":"m","prompt":"How are you?","stream":true}"#, path: "/v1/completions")
            #expect(synthesized.xCache == "HIT")
            #expect(synthesized.chunks.allSatisfy { $0["object"] == .string("text_completion") })
            #expect(
                essentials(synthesized.accumulated) == [
                    .object(["content": .string("Fine."), "tool_calls": .null, "finish_reason": .string("stop")])
                ])
        }
    }

    @Test("a recorded stream survives a restart and replays from SQLite")
    func persistence() async throws {
        let database = Harness.temporaryDatabase()
        let upstream = FakeUpstream()
        upstream.reply(.init(stream: FakeUpstream.chatStream()))
        let first = Mutex<[UInt8]>([])
        try await Harness.run(upstream: upstream, database: database) { h in
            let miss = try await h.stream()
            first.withLock { $0 = miss.raw }
        }
        try await Harness.run(upstream: upstream, database: database, configure: { $0.cache.memoryBytes = 0 }) { h in
            let replay = try await h.stream()
            #expect(replay.xCache == "HIT")
            #expect(replay.raw == first.withLock { $0 })
            let withUsage = try await h.stream(Harness.streamBody(#","stream_options":{"include_usage":true}"#))
            #expect(withUsage.usageChunks.count == 1)
        }
        #expect(upstream.calls == 1)
    }

    @Test("keep-alive comments are relayed live but not recorded")
    func comments() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(stream: [.raw(": keep-alive\n\n")] + FakeUpstream.chatStream(toolCall: false)))
        try await Harness.run(upstream: upstream) { h in
            let miss = try await h.stream()
            #expect(miss.text.hasPrefix(": keep-alive\n\n"))
            try await eventually { try await h.statsValue("cache", "entries") == 1 }
            let replay = try await h.stream()
            #expect(!replay.text.contains("keep-alive"))
            #expect(replay.events.map(\.data) == miss.events.map(\.data))
        }
    }
}

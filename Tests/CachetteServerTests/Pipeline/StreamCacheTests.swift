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

@Suite("Streams: faults")
struct StreamFaultTests {
    /// Three events, held until the client has them (a dropped connection takes with it
    /// what the sidecar's HTTP client had not yet handed on), then the fault.
    static let prefix = Array(FakeUpstream.chatStream().prefix(3)) + [.wait]
    static let cases: [(String, [FakeUpstream.Step])] = [
        ("connection dropped", prefix + [.fail]),
        ("ended without [DONE]", prefix),
        ("error event", prefix + [.data(#"{"error":{"message":"overloaded","type":"server_error","code":"overloaded"}}"#)]),
        ("named error event", prefix + [.raw("event: error\ndata: {\"type\":\"overloaded\"}\n\n"), .done]),
    ]

    @Test("a failed upstream stream stores nothing, and the client gets what arrived, then an error event", arguments: 0..<4)
    func failures(index: Int) async throws {
        let (name, steps) = Self.cases[index]
        let upstream = FakeUpstream()
        upstream.reply(.init(stream: steps))
        try await Harness.run(upstream: upstream) { h in
            let got = try await h.stream(releasingAfter: "lo, ")
            #expect(got.status == 200, "\(name)")
            #expect(!got.endsWithDone, "\(name)")
            #expect(
                got.chunks.prefix(3).compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue } == ["", "Hel", "lo, "],
                "\(name)")
            let error = try #require(got.lastError, "\(name): last event is an error")
            #expect(error["message"]?.stringValue?.isEmpty == false)
            #expect(error["type"] != nil && error["code"] != nil)
            #expect(got.chunks.filter { $0["error"] != nil }.count == 1, "\(name): one error event, not two")
            if name == "connection dropped" {
                #expect(error["code"]?.stringValue == "upstream_stream_failed", "a cut after events began is the stream breaking: \(error)")
            }

            try await eventually { try await h.statsValue("streams", "failures") == 1 }
            upstream.reply(.init(stream: FakeUpstream.chatStream()))
            let again = try await h.stream()
            #expect(again.xCache == "MISS", "\(name): nothing was stored")
            #expect(again.endsWithDone)
            #expect(upstream.calls == 2)
        }
    }

    @Test(
        "an upstream that goes silent mid-stream for idle_timeout ends the stream with upstream_idle_timeout",
        .timeLimit(.minutes(1)))  // without the timeout, the silent stream would hold the test forever
    func idle() async throws {
        let upstream = FakeUpstream()
        // Silent until the test is done: `.wait` holds the stream until releaseStreams().
        upstream.reply(.init(stream: Array(FakeUpstream.chatStream().prefix(2)) + [.wait, .done]))
        // Long enough that a saturated machine still gets the head and first events in time:
        // 2 s was not, in CI's parallel test run while PostgreSQL connects were timing out too.
        try await Harness.run(upstream: upstream, configure: { $0.upstream.idleTimeout = .seconds(5) }) { h in
            defer { upstream.releaseStreams() }
            let got = try await h.stream()
            #expect(got.chunks.count == 3)
            #expect(got.lastError?["code"] == .string("upstream_idle_timeout"))
            #expect(got.lastError?["message"]?.stringValue?.contains("upstream.idle_timeout (5 s)") == true)
            #expect(!got.endsWithDone)
            let failures = try await h.statsValue("streams", "failures")
            let upstreamErrors = try await h.statsValue("upstream_errors")
            #expect(failures == 1 && upstreamErrors == 1)
        }
    }

    @Test("an upstream error status for a stream is passed on as it is and not stored")
    func errorStatus() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(status: 429, body: #"{"error":{"message":"slow down","type":"rate_limit_error","code":"rate_limit"}}"#))
        try await Harness.run(upstream: upstream) { h in
            let got = try await h.stream()
            #expect(got.status == 429)
            #expect(got.text.contains("slow down"))
            upstream.reply(.init(stream: FakeUpstream.chatStream()))
            let again = try await h.stream()
            #expect(again.xCache == "MISS")
            #expect(upstream.calls == 2)
        }
    }
}

@Suite("Streams: client disconnects")
struct StreamDisconnectTests {
    /// Starts a stream, reads its first event, and hangs up: the socket is closed with
    /// the connection open, as a client that crashes or is killed leaves it.
    func readFirstEventAndHangUp(_ h: Harness) async throws {
        let socket = try RawSocket(port: h.port, body: Harness.streamBody())
        let received = await socket.read(until: "data: ")
        #expect(received.hasPrefix("HTTP/1.1 200"))
        socket.close()
    }

    @Test("with finish_on_disconnect (the default) a client that leaves still fills the cache")
    func finishes() async throws {
        let upstream = FakeUpstream()
        // Paced, so the sidecar notices the hang-up before the stream ends, on a busy machine too.
        let paced = FakeUpstream.chatStream().dropFirst().flatMap { [$0, FakeUpstream.Step.sleep(.milliseconds(250))] }
        upstream.reply(.init(stream: [.data(FakeUpstream.chunk(#"{"role":"assistant","content":""}"#)), .wait] + paced))
        try await Harness.run(upstream: upstream) { h in
            try await readFirstEventAndHangUp(h)
            upstream.releaseStreams()
            // Generous: the whole suite (PostgreSQL clusters included) shares two cores.
            try await eventually(within: .seconds(30)) { try await h.statsValue("cache", "entries") == 1 }
            #expect(upstream.finishedStreams == 1)
            // Before the replay, which could otherwise join the stream's last moments as a client.
            try await eventually(within: .seconds(30)) { try await h.statsValue("streams", "finished_after_disconnect") == 1 }
            let replay = try await h.stream()
            #expect(replay.xCache == "HIT")
            #expect(replay.endsWithDone)
            #expect(essentials(replay.accumulated).first?["content"] == .string("Hello, world ✓"))
            #expect(upstream.calls == 1)
        }
    }

    @Test("a client that leaves before the response head: the stream is still read, stored and counted as finished after disconnect")
    func leavesBeforeHead() async throws {
        let upstream = FakeUpstream()
        // Paced, so the sidecar notices the hang-up before the stream ends.
        let paced = FakeUpstream.chatStream().flatMap { [$0, FakeUpstream.Step.sleep(.milliseconds(100))] }
        upstream.reply(.init(delay: .seconds(1), stream: paced))
        try await Harness.run(upstream: upstream) { h in
            let socket = try RawSocket(port: h.port, body: Harness.streamBody())
            try await eventually { upstream.calls == 1 }
            socket.close()  // the head has not come: the upstream is still waiting out its delay
            try await eventually(within: .seconds(30)) { try await h.statsValue("cache", "entries") == 1 }
            try await eventually(within: .seconds(30)) { try await h.statsValue("streams", "finished_after_disconnect") == 1 }
            let replay = try await h.stream()
            #expect(replay.xCache == "HIT" && replay.endsWithDone)
            #expect(upstream.calls == 1)
        }
    }

    @Test("with finish_on_disconnect: false the upstream request is cancelled and nothing is stored")
    func cancels() async throws {
        let upstream = FakeUpstream()
        // Keeps sending until told to stop, so the sidecar's next write finds the client gone.
        var steps: [FakeUpstream.Step] = [.data(FakeUpstream.chunk(#"{"role":"assistant","content":""}"#)), .wait]
        for _ in 0..<200 { steps += [.data(FakeUpstream.chunk(#"{"content":"x"}"#)), .sleep(.milliseconds(10))] }
        upstream.reply(.init(stream: steps + [.done]))
        try await Harness.run(upstream: upstream, configure: { $0.stream.finishOnDisconnect = false }) { h in
            try await readFirstEventAndHangUp(h)
            upstream.releaseStreams()
            try await eventually { upstream.abandonedStreams == 1 }
            #expect(upstream.finishedStreams == 0)
            let entries = try await h.statsValue("cache", "entries")
            let finished = try await h.statsValue("streams", "finished_after_disconnect")
            #expect(entries == 0)
            #expect(finished == 0)
        }
    }
}

@Suite("Streams: sharing")
struct StreamSharingTests {
    @Test("late joiners get every event from the first, live, from one upstream stream")
    func lateJoiners() async throws {
        let upstream = FakeUpstream()
        upstream.reply(
            .init(
                stream: [.data(FakeUpstream.chunk(#"{"role":"assistant","content":""}"#)), .wait]
                    + FakeUpstream.chatStream().dropFirst()))
        try await Harness.run(upstream: upstream) { h in
            let body = Harness.streamBody()
            // The leader's first event proves the stream is under way before anyone joins.
            let leaderRequest = h.clientRequest("/v1/chat/completions", .bytes(ByteBuffer(string: body)))
            let leader = try await HTTPClient.shared.execute(leaderRequest, timeout: .seconds(30))
            var leaderBody = leader.body.makeAsyncIterator()
            var leaderRaw = Array(try #require(await leaderBody.next()).readableBytesView)
            #expect(leader.headers.first(name: "x-cache") == "MISS")

            // Joiners arrive while the upstream holds event 2: each must see event 1 at once.
            var joiners: [HTTPClientResponse] = []
            var joinerBodies: [HTTPClientResponse.Body.AsyncIterator] = []
            var firstParts: [[UInt8]] = []
            for _ in 0..<5 {
                let response = try await HTTPClient.shared.execute(leaderRequest, timeout: .seconds(30))
                var iterator = response.body.makeAsyncIterator()
                firstParts.append(Array(try #require(await iterator.next()).readableBytesView))
                joiners.append(response)
                joinerBodies.append(iterator)
                #expect(response.headers.first(name: "x-cache") == "HIT")
            }
            #expect(firstParts.allSatisfy { $0 == leaderRaw }, "the backlog is event 1, before event 2 exists")
            #expect(upstream.calls == 1)

            // A non-streaming request for the same prompt waits for the stream and gets the assembled answer.
            let whole = Task { try await h.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello"}]}"#) }
            upstream.releaseStreams()
            while let part = try await leaderBody.next() { leaderRaw += part.readableBytesView }
            for (index, var iterator) in joinerBodies.enumerated() {
                var raw = firstParts[index]
                while let part = try await iterator.next() { raw += part.readableBytesView }
                #expect(raw == leaderRaw)
            }
            _ = joiners
            let answer = try await whole.value
            let assembled = try JSONValue.parse(answer.body.readableBytesView)
            #expect(assembled["choices"]?.arrayValue?.first?["message"]?["content"] == .string("Hello, world ✓"))
            #expect(upstream.calls == 1)
        }
    }

    @Test("many identical streaming misses at once make one upstream stream")
    func concurrent() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(delay: .milliseconds(200), stream: FakeUpstream.chatStream()))
        try await Harness.run(upstream: upstream) { h in
            let results = try await withThrowingTaskGroup(of: ReceivedStream.self) { group in
                for _ in 0..<20 { group.addTask { try await h.stream() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(upstream.calls == 1)
            #expect(results.count == 20)
            #expect(Set(results.map(\.raw)).count == 1)
            #expect(results.filter { $0.xCache == "MISS" }.count == 1)
            #expect(results.allSatisfy { $0.endsWithDone })
        }
    }

    @Test("a client that stops reading is cut off after a pause while the others and the upstream carry on")
    func slowReader() async throws {
        let upstream = FakeUpstream()
        // About 6 MB, far past the sidecar's 256 KiB buffer and the kernel's socket buffers.
        let filler = String(repeating: "x", count: 2000)
        var steps: [FakeUpstream.Step] = [.data(FakeUpstream.chunk(#"{"role":"assistant","content":""}"#)), .wait]
        steps += Array(repeating: .data(FakeUpstream.chunk(#"{"content":"\#(filler)"}"#)), count: 3000)
        upstream.reply(.init(stream: steps + [.data(FakeUpstream.chunk("{}", finish: "stop")), .done]))
        try await Harness.run(upstream: upstream, configure: { $0.stream.maxBufferedBytes = 256 << 10 }) { h in
            let slow = try RawSocket(port: h.port, body: Harness.streamBody(), receiveBuffer: 4096)
            defer { slow.close() }
            try await eventually { upstream.calls == 1 }
            // The fast client reads on a thread of its own, so a busy test pool cannot make
            // it the one that falls behind.
            let fast = try RawSocket(port: h.port, body: Harness.streamBody())
            defer { fast.close() }
            let received = Task { await fast.readToEnd() }
            try await Task.sleep(for: .milliseconds(200))  // the fast client joins while the upstream waits
            upstream.releaseStreams()
            let text = await received.value
            #expect(text.lowercased().contains("x-cache: hit"))
            #expect(text.components(separatedBy: "data: ").count - 1 == 3003, "every chunk and [DONE]")
            #expect(text.contains("data: [DONE]\n\n"))
            try await eventually { try await h.statsValue("streams", "slow_clients_dropped") == 1 }
            // Too long to record under this buffer: relayed, not stored.
            let entries = try await h.statsValue("cache", "entries")
            #expect(entries == 0)
        }
    }
}

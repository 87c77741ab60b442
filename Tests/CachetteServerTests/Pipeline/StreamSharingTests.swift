import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import NIOCore
import Synchronization
import Testing

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

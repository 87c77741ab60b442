import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import NIOCore
import Synchronization
import Testing

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

import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import NIOCore
import Synchronization
import Testing

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

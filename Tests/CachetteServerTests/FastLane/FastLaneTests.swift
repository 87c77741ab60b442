import CachetteCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Synchronization
import Testing

@testable import CachetteServer

/// The fast lane in the running sidecar: which hits it answers, that they are the
/// router's answers byte for byte and booked the same, and what it leaves alone.
@Suite("The fast lane, end to end")
struct FastLaneTests {
    static func laneAnswers(_ h: Harness) async throws -> Int {
        let metrics = try await h.get("/metrics").text
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("cachette_fast_lane_answers_total ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
    }

    /// A miss, a hit (the router's on either side: the lane stands aside once after the
    /// miss it read), then the hit that is looked at, and what was booked.
    static func missThenHit(fastLane: Bool) async throws -> (hit: TestResponse, lane: Int, hits: Int) {
        let result = Mutex<(TestResponse, Int, Int)?>(nil)
        try await Harness.run(configure: { $0.server.fastLane = fastLane }) { h in
            expectCache(try await h.post(), "MISS")
            expectCache(try await h.post(), "HIT")
            let hit = try await h.post()
            let stats = try await h.json("/stats")
            let answers = try await laneAnswers(h)
            result.withLock { $0 = (hit, answers, stats["hits"]?.intValue ?? -1) }
            #expect(h.upstream.calls == 1)
        }
        return try #require(result.withLock { $0 })
    }

    @Test("a memory hit is the lane's, with the router's status, headers and bytes, booked once")
    func sameAnswer() async throws {
        let lane = try await Self.missThenHit(fastLane: true)
        let router = try await Self.missThenHit(fastLane: false)
        #expect(lane.lane >= 1 && router.lane == 0)
        #expect(lane.hits == 2 && router.hits == 2)
        expectCache(lane.hit, "HIT")
        #expect(lane.hit.status == router.hit.status)
        #expect(lane.hit.text == router.hit.text)
        for name in ["x-cachette-key", "x-cachette-tier", "content-type", "content-length"] {
            let field = HTTPField.Name(name)!
            #expect(lane.hit.headers[field] == router.hit.headers[field], "\(name)")
        }
        #expect(lane.hit.headers[.date] != nil && lane.hit.headers[.age] != nil)
    }

    /// A recorded stream, then its replay.
    static func streamThenReplay(fastLane: Bool) async throws -> (replay: ReceivedStream, lane: Int) {
        let result = Mutex<(ReceivedStream, Int)?>(nil)
        let upstream = FakeUpstream()
        upstream.reply(.init(stream: FakeUpstream.chatStream()))
        try await Harness.run(upstream: upstream, configure: { $0.server.fastLane = fastLane }) { h in
            #expect(try await h.stream().xCache == "MISS")
            try await eventually { try await h.statsValue("cache", "entries") == 1 }
            // Twice: on the miss's connection the lane stands aside once; a pooled client may use either.
            _ = try await h.stream(Harness.streamBody(#","stream_options":{"include_usage":true}"#))
            let replay = try await h.stream(Harness.streamBody(#","stream_options":{"include_usage":true}"#))
            let answers = try await laneAnswers(h)
            result.withLock { $0 = (replay, answers) }
        }
        return try #require(result.withLock { $0 })
    }

    @Test("a recorded stream replays from the lane as from the router, usage chunk and all")
    func sameReplay() async throws {
        let lane = try await Self.streamThenReplay(fastLane: true)
        let router = try await Self.streamThenReplay(fastLane: false)
        #expect(lane.lane >= 1 && router.lane == 0)
        #expect(lane.replay.xCache == "HIT" && lane.replay.contentType == "text/event-stream")
        #expect(lane.replay.usageChunks.count == 1 && lane.replay.endsWithDone)
        #expect(essentials(lane.replay.accumulated) == essentials(router.replay.accumulated))
        #expect(lane.replay.events.count == router.replay.events.count)
    }

    @Test("the lane leaves to the router what the router must decide: a web page's request, no-cache, another credential")
    func leavesTheRest() async throws {
        try await Harness.run { h in
            expectCache(try await h.post(), "MISS")
            let page = try await h.post(headers: [.origin: "https://evil.example"])
            #expect(page.status == .forbidden)
            // Kept alive, so the lane sees it (it leaves `Connection: close` to the router).
            let body = Harness.chatBody
            let rebinding = try RawSocket(
                port: h.port,
                raw: "POST /v1/chat/completions HTTP/1.1\r\nHost: evil.example:\(h.port)\r\nAuthorization: Bearer sk-test-one\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
            let rebound = await rebinding.read(until: "host_not_allowed")
            rebinding.close()
            #expect(rebound.hasPrefix("HTTP/1.1 421"), "\(rebound)")
            expectCache(try await h.post(headers: [HTTPField.Name("Cache-Control")!: "no-cache"]), "BYPASS")
            expectCache(try await h.post(headers: [.authorization: "Bearer sk-test-two"]), "MISS")
            #expect(try await Self.laneAnswers(h) == 0)
            // The lane read two misses in a row here (the first, the other credential's): it
            // stands aside for the next two admitted requests, and the third hit is its own.
            for _ in 0..<3 { expectCache(try await h.post(), "HIT") }
            #expect(try await Self.laneAnswers(h) >= 1)
        }
    }

    @Test("pipelined on one connection: hits behind a slow miss wait for it, and answers come back in the order asked")
    func pipelinedOrder() async throws {
        try await Harness.run { h in
            expectCache(try await h.post(), "MISS")
            h.upstream.reply(.init(delay: .milliseconds(300)))
            func request(_ body: String, query: String = "", close: Bool = false) -> String {
                "POST /v1/chat/completions\(query) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Authorization: Bearer sk-test-one\r\nContent-Length: \(body.utf8.count)\r\n\(close ? "Connection: close\r\n" : "")\r\n" + body
            }
            // The slow one has a query, so the lane does not read it: it goes straight to the router.
            let slow = #"{"model":"gpt-4o","messages":[{"role":"user","content":"slow"}]}"#
            let socket = try RawSocket(
                port: h.port, raw: request(slow, query: "?slow") + request(Harness.chatBody) + request(Harness.chatBody, close: true))
            // The last one asks to close, so the sidecar closes once all three are answered.
            let text = await socket.readToEnd()
            socket.close()
            let outcomes = text.split(separator: "\r\n").filter { $0.lowercased().hasPrefix("x-cache:") }.map {
                $0.dropFirst(8).trimmingCharacters(in: .whitespaces)
            }
            #expect(outcomes == ["MISS", "HIT", "HIT"], "\(text)")
        }
    }
}

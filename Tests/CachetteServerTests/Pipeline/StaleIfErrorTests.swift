import AsyncHTTPClient
import CachetteCore
import CachetteServer
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// stale-if-error (RFC 5861): an expired answer beats an upstream failure.
@Suite("Stale answers when the upstream fails")
struct StaleIfErrorTests {
    /// Stores the answer with a 1 s TTL and waits until it has expired.
    static func expire(_ h: Harness, wait: Duration = .milliseconds(1100)) async throws {
        let first = try await h.post("/v1/chat/completions", Harness.chatBody, headers: [HTTPField.Name("x-cachette-ttl")!: "1"])
        #expect(first.xCache == "MISS")
        try await Task.sleep(for: wait)
    }

    @Test("a 5xx, a 429, a timeout or an unreachable upstream gets the expired answer with X-Cache: STALE and Age", arguments: [500, 503, 429, 0])
    func servedStale(status: Int) async throws {
        // For the timeout case, a timeout a busy machine meets for the healthy first answer,
        // and a delay well past it; for the others, no timeout a busy machine could meet.
        try await Harness.run(configure: { $0.upstream.timeout = status == 0 ? .seconds(3) : .seconds(30) }) { h in
            try await Self.expire(h)
            if status == 0 {
                h.upstream.reply(.init(delay: .seconds(6)))  // past upstream.timeout
            } else {
                h.upstream.reply(.init(status: status, body: #"{"error":{"message":"down"}}"#))
            }
            let stale = try await h.post()
            #expect(stale.status == .ok)
            #expect(stale.xCache == "STALE")
            #expect(Int(stale.headers[.age] ?? "") ?? 0 >= 1)
            #expect(stale.text.contains("answer number 1"))
            let stats = try await h.json("/stats")
            #expect(stats["stale"]?.intValue == 1)
            #expect(String(buffer: try await h.get("/metrics").body).contains("cachette_stale_served_total 1"))
            // A stream request gets the stale answer as a stream.
            let streamed = try await h.post(
                "/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello"}],"temperature":0.2,"stream":true}"#)
            #expect(streamed.xCache == "STALE" && streamed.text.contains("data: [DONE]"))
            h.upstream.releaseStreams()  // the fake's default stream, reached after the delay, waits for this
        }
    }

    @Test("Cache-Control: stale-if-error=0 turns it off for the request")
    func controls() async throws {
        try await Harness.run { h in
            try await Self.expire(h)
            h.upstream.reply(.init(status: 500, body: #"{"error":{"message":"down"}}"#))
            let off = try await h.post("/v1/chat/completions", Harness.chatBody, headers: [.cacheControl: "stale-if-error=0"])
            #expect(off.status == .internalServerError)
        }
    }

    @Test("a stale-if-error that is not a whole number of seconds is a 400")
    func badStaleIfError() async throws {
        try await Harness.run { h in
            let bad = try await h.post("/v1/chat/completions", Harness.chatBody, headers: [.cacheControl: "stale-if-error=soon"])
            #expect(bad.status == .badRequest)
            #expect(h.upstream.calls == 0)
        }
    }

    @Test("without a failure, a fresh answer replaces the expired one")
    func freshReplacesExpired() async throws {
        try await Harness.run { h in
            try await Self.expire(h)
            let fresh = try await h.post()
            #expect(fresh.xCache == "MISS" && fresh.status == .ok)
            #expect(fresh.text.contains("answer number 2"))
        }
    }

    @Test("past the stale window the failure comes back as it is")
    func windowOver() async throws {
        try await Harness.run(configure: { $0.cache.staleIfError = .milliseconds(200) }) { h in
            try await Self.expire(h, wait: .milliseconds(1600))
            h.upstream.reply(.init(status: 502, body: #"{"error":{"message":"down"}}"#))
            #expect(try await h.post().status == .badGateway)
        }
    }
}

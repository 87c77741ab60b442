import CachetteCore
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Per-request cache controls")
struct RequestControlTests {
    static let noCache: HTTPFields = [.cacheControl: "no-cache"]
    static let noStore: HTTPFields = [.cacheControl: "no-store"]

    @Test("Cache-Control: no-cache skips the lookup but stores the fresh answer")
    func noCacheRefreshes() async throws {
        try await Harness.run { h in
            _ = try await h.post()
            let fresh = try await h.post(headers: Self.noCache)
            #expect(fresh.xCache == "BYPASS")
            #expect(fresh.text.contains("answer number 2"))
            let after = try await h.post()
            #expect(after.xCache == "HIT")
            #expect(after.text.contains("answer number 2"))
            #expect(h.upstream.calls == 2)
        }
    }

    @Test("Cache-Control: no-store does not store, but may still be served a stored answer")
    func noStore() async throws {
        try await Harness.run { h in
            try await expectCache(h.post(headers: Self.noStore), "MISS")
            try await expectCache(h.post(), "MISS")
            try await expectCache(h.post(headers: Self.noStore), "HIT")
            #expect(h.upstream.calls == 2)
        }
    }

    @Test("x-cachette-ttl sets the entry's lifetime")
    func ttlHeader() async throws {
        try await Harness.run { h in
            let ttl = HTTPField.Name("x-cachette-ttl")!
            // 5 s, not less: with the whole suite running on two cores, two back-to-back
            // requests have been seen more than 2 s apart.
            try await expectCache(h.post(headers: [ttl: "5"]), "MISS")
            try await expectCache(h.post(), "HIT")
            try await Task.sleep(for: .milliseconds(5100))
            try await expectCache(h.post(), "MISS")
        }
    }

    @Test("x-cachette-ttl: 0 means do not store")
    func ttlZero() async throws {
        try await Harness.run { h in
            let other = #"{"model":"gpt-4o","messages":[{"role":"user","content":"other"}]}"#
            try await expectCache(h.post("/v1/chat/completions", other, headers: [HTTPField.Name("x-cachette-ttl")!: "0"]), "MISS")
            try await expectCache(h.post("/v1/chat/completions", other), "MISS")
        }
    }

    @Test("an x-cachette-ttl that is not a whole number of seconds is a 400 invalid_cache_ttl")
    func ttlJunk() async throws {
        try await Harness.run { h in
            let bad = try await h.post(headers: [HTTPField.Name("x-cachette-ttl")!: "soon"])
            #expect(bad.status == .badRequest)
            let error = try JSONValue.parse(bad.body.readableBytesView)["error"]
            #expect(error?["code"]?.stringValue == "invalid_cache_ttl")
            #expect(h.upstream.calls == 0)
        }
    }

    @Test("cache.enabled: false forwards everything")
    func cacheDisabled() async throws {
        try await Harness.run(configure: { $0.cache.enabled = false }) { h in
            try await expectCache(h.post(), "BYPASS")
            try await expectCache(h.post(), "BYPASS")
            #expect(h.upstream.calls == 2)
            #expect(try await h.json("/health")["cache"]?["enabled"]?.boolValue == false)
        }
    }
}

import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite("Cache path over loopback HTTP")
struct CachePathTests {
    @Test("a repeated request is a HIT with the same body, key and an Age header, from one upstream call")
    func missThenHit() async throws {
        try await Harness.run { h in
            let first = try await h.post()
            #expect(first.status == .ok)
            #expect(first.xCache == "MISS")
            #expect(first.text.contains("answer number 1"))
            let key = try #require(first.cacheKey)
            #expect(key.count == 32 && key.allSatisfy(\.isHexDigit))
            #expect(first.headers[.age] == nil)

            let second = try await h.post()
            #expect(second.status == .ok)
            #expect(second.xCache == "HIT")
            #expect(second.cacheKey == key)
            #expect(second.text == first.text)
            #expect(second.headers[.age].flatMap(Int.init).map { (0...5).contains($0) } == true)
            #expect(second.headers[.contentType] == "application/json")
            #expect(h.upstream.calls == 1)
        }
    }

    @Test("x-cachette-tier says which tier answered a hit: memory, then disk after a restart")
    func tierHeader() async throws {
        let database = Harness.temporaryDatabase()
        try await Harness.run(database: database) { h in
            let miss = try await h.post()
            #expect(miss.xCache == "MISS" && miss.headers[HTTPField.Name("x-cachette-tier")!] == nil)
            let hit = try await h.post()
            #expect(hit.xCache == "HIT" && hit.headers[HTTPField.Name("x-cachette-tier")!] == "memory")
            try await eventually { try await h.statsValue("cache", "entries") == 1 }
        }
        try await Harness.run(database: database) { h in
            let hit = try await h.post()
            #expect(hit.xCache == "HIT" && hit.headers[HTTPField.Name("x-cachette-tier")!] == "disk")
            #expect(try await h.post().headers[HTTPField.Name("x-cachette-tier")!] == "memory", "a disk hit fills memory")
            #expect(h.upstream.calls == 0)
        }
    }

    @Test("key order and whitespace do not change the key, a changed parameter does")
    func canonicalKeyOverHTTP() async throws {
        try await Harness.run { h in
            let a = try await h.post(
                "/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello"}],"temperature":0.2}"#)
            let b = try await h.post(
                "/v1/chat/completions",
                "{ \"temperature\" : 0.20,\n \"messages\": [ {\"content\":\"Say hello\", \"role\":\"user\"} ],\t\"model\":\"gpt-4o\" }")
            #expect(b.xCache == "HIT")
            #expect(a.cacheKey == b.cacheKey)
            let c = try await h.post(
                "/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello"}],"temperature":0.3}"#)
            #expect(c.xCache == "MISS")
            #expect(c.cacheKey != a.cacheKey)
            // Delivery options are not part of the key.
            let d = try await h.post(
                "/v1/chat/completions",
                #"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello"}],"temperature":0.2,"user":"u-42","metadata":{"x":"y"},"store":false}"#
            )
            #expect(d.xCache == "HIT")
            #expect(h.upstream.calls == 2)
        }
    }

    @Test("each cached route has its own entries")
    func routesAreSeparate() async throws {
        try await Harness.run { h in
            let body = #"{"model":"text-embedding-3-small","input":"hello"}"#
            try await expectCache(h.post("/v1/embeddings", body), "MISS")
            try await expectCache(h.post("/v1/embeddings", body), "HIT")
            try await expectCache(h.post("/v1/completions", body), "MISS")
            #expect(h.upstream.calls(to: "/v1/embeddings") == 1)
            #expect(h.upstream.calls(to: "/v1/completions") == 1)
        }
    }

    @Test("two API keys never share an entry by default")
    func credentialScope() async throws {
        try await Harness.run { h in
            _ = try await h.post(headers: [.authorization: "Bearer sk-alice"])
            let bob = try await h.post(headers: [.authorization: "Bearer sk-bob"])
            #expect(bob.xCache == "MISS")
            #expect(bob.text.contains("answer number 2"))
            let anthropicStyle = try await h.post(headers: [.authorization: "", HTTPField.Name("x-api-key")!: "sk-ant-carol"])
            #expect(anthropicStyle.xCache == "MISS")
            try await expectCache(h.post(headers: [.authorization: "Bearer sk-alice"]), "HIT")
            #expect(h.upstream.calls == 3)
        }
    }

    @Test("cache.scope: shared lets different keys share entries")
    func sharedScope() async throws {
        try await Harness.run(configure: { $0.cache.scope = .shared }) { h in
            _ = try await h.post(headers: [.authorization: "Bearer sk-alice"])
            try await expectCache(h.post(headers: [.authorization: "Bearer sk-bob"]), "HIT")
            #expect(h.upstream.calls == 1)
        }
    }

    @Test("cache.key_fields: prompt ignores sampling parameters")
    func promptKeyFields() async throws {
        try await Harness.run(configure: { $0.cache.keyFields = .prompt }) { h in
            _ = try await h.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0}"#)
            let other = try await h.post(
                "/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":1,"seed":4}"#)
            #expect(other.xCache == "HIT")
            let otherModel = try await h.post("/v1/chat/completions", #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(otherModel.xCache == "MISS")
        }
    }

    @Test("entries and stats survive a restart")
    func persistenceAcrossRestart() async throws {
        let database = Harness.temporaryDatabase()
        let upstream = FakeUpstream()
        try await Harness.run(upstream: upstream, database: database) { h in
            let first = try await h.post()
            #expect(first.xCache == "MISS")
            try await expectCache(h.post(), "HIT")
        }
        try await Harness.run(upstream: upstream, database: database) { h in
            let again = try await h.post()
            #expect(again.xCache == "HIT")
            #expect(again.text.contains("answer number 1"))
            let stats = try await h.json("/stats")
            #expect(stats["hits"]?.intValue == 2)
            #expect(stats["misses"]?.intValue == 1)
            #expect(stats["token_usage"]?["input"]?.intValue == 11)
            #expect(stats["token_usage"]?["output"]?.intValue == 7)
            #expect(stats["token_usage"]?["cached"]?.intValue == 36)
            #expect(stats["cache"]?["entries"]?.intValue == 1)
        }
        #expect(upstream.calls == 1)
    }

    @Test("a small byte budget evicts the least recently used entries")
    func lruEviction() async throws {
        // Each answer compresses to roughly 200 bytes plus 128 of overhead: three fit, four do not.
        try await Harness.run(configure: { $0.cache.maxBytes = 1100 }) { h in
            func ask(_ n: Int) async throws -> TestResponse {
                try await h.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"question \#(n)"}]}"#)
            }
            for n in 1...3 {
                try await expectCache(ask(n), "MISS")
                try await Task.sleep(for: .milliseconds(20))  // distinct access times
            }
            try await expectCache(ask(1), "HIT")  // 1 is now more recent than 2
            try await expectCache(ask(4), "MISS")  // over budget: 2 must go, in the writer's next flush
            try await eventually { try await h.json("/stats")["cache"]?["evictions"]?.intValue ?? 0 >= 1 }
            let stats = try await h.json("/stats")
            #expect(stats["cache"]?["bytes"]?.intValue ?? .max <= 1100)
            try await expectCache(ask(1), "HIT")  // recently read, so it survived
            try await expectCache(ask(2), "MISS")
            try await expectCache(ask(4), "HIT")
        }
    }

    @Test("50 concurrent identical misses make exactly one upstream call")
    func concurrentMissesCoalesce() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(delay: .milliseconds(300)))
        try await Harness.run(upstream: upstream) { h in
            let results = try await withThrowingTaskGroup(of: (Int, String, String).self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        let response = try await HTTPClient.shared.execute(h.clientRequest(), timeout: .seconds(30))
                        let body = try await response.body.collect(upTo: 1 << 20)
                        return (Int(response.status.code), String(buffer: body), response.headers.first(name: "x-cache") ?? "")
                    }
                }
                var all: [(Int, String, String)] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(results.count == 50)
            #expect(results.allSatisfy { $0.0 == 200 && $0.1.contains("answer number 1") })
            #expect(results.filter { $0.2 == "MISS" }.count == 1)
            #expect(upstream.calls == 1)
            let stats = try await h.json("/stats")
            #expect(stats["hits"]?.intValue == 49)
            #expect(stats["misses"]?.intValue == 1)
        }
    }

    @Test("x-cachette-ttl is held to cache.max_ttl: 292 billion years is kept for max_ttl; cache.ttl past it is a config error")
    func maxTTL() async throws {
        let database = Harness.temporaryDatabase()
        try await Harness.run(database: database, configure: { $0.cache.maxTTL = .seconds(60) }) { h in
            expectCache(try await h.post(headers: [HTTPField.Name("x-cachette-ttl")!: "9223372036854775807"]), "MISS")
        }
        let lifetime = try await Subprocess.run("/usr/bin/sqlite3", [database, "SELECT expires_at - created_at FROM entries"])
        #expect(lifetime.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "60.0", "\(lifetime.stdout)\(lifetime.stderr)")
        var config = CachetteConfig()
        config.cache.ttl = .seconds(7200)
        config.cache.maxTTL = .seconds(3600)
        #expect { try ConfigLoader.validate(config) } throws: { "\($0)".contains("cache.ttl") && "\($0)".contains("1h") }
    }
}

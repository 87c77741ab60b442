import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import NIOCore
import Testing
@testable import CachetteShared

/// Several sidecars on one real PostgreSQL (`PostgresCluster`).
@Suite("Shared tier on PostgreSQL")
struct SharedTierTests {
    /// Points every replica at `url`, with short timings for tests.
    static func sharing(_ url: String, _ extra: @escaping @Sendable (inout CachetteConfig, Int) -> Void = { _, _ in })
        -> @Sendable (inout CachetteConfig, Int) -> Void
    {
        { config, index in
            config.shared.url = try? SharedURL(url)
            config.shared.timeout = .seconds(5)  // debug builds on a loaded 2-core machine; fault tests set their own
            extra(&config, index)
        }
    }

    @Test("a miss on replica A is a shared HIT on replica B, for whole answers and SSE streams")
    func sharedHit() async throws {
        let cluster = try await PostgresCluster.shared
        let url = cluster.url(try await cluster.createDatabase())
        let upstream = FakeUpstream()
        upstream.releaseStreams()
        try await Harness.runReplicas(2, upstream: upstream, configure: Self.sharing(url)) { replicas in
            let (a, b) = (replicas[0], replicas[1])
            try await waitUntilUp(replicas)
            let miss = try await a.post()
            expectCache(miss, "MISS")
            try await eventually { try await b.post().xCache == "HIT" }
            let hit = try await b.post()
            #expect(hit.text == miss.text, "byte-identical answer")
            #expect(upstream.calls == 1)
            #expect(try await sharedCount(b, "hits") >= 1)

            // A stream recorded on A replays as SSE on B.
            let recorded = try await a.stream()
            #expect(recorded.xCache == "MISS" && recorded.endsWithDone)
            try await eventually { try await b.stream().xCache == "HIT" }
            let replayed = try await b.stream()
            #expect(replayed.text == recorded.text, "the same events, byte for byte")
            #expect(replayed.contentType?.hasPrefix("text/event-stream") == true)
            let states = [try await a.json("/stats")["shared"], try await b.json("/stats")["shared"], try await b.json("/health")["shared"]]
            #expect(upstream.calls == 2, "\(states)")
        }
    }

    @Test("the first shared hit says x-cachette-tier: shared; the next one is local")
    func tierHeader() async throws {
        let cluster = try await PostgresCluster.shared
        let url = cluster.url(try await cluster.createDatabase())
        let upstream = FakeUpstream()
        try await Harness.runReplicas(2, upstream: upstream, configure: Self.sharing(url)) { replicas in
            try await waitUntilUp(replicas)
            _ = try await replicas[0].post()
            try await eventually { try await entries(url) == 1 }
            let first = try await replicas[1].post()
            #expect(first.xCache == "HIT" && first.headers[HTTPField.Name("x-cachette-tier")!] == "shared")
            let second = try await replicas[1].post()
            #expect(second.headers[HTTPField.Name("x-cachette-tier")!] == "memory")
            #expect(upstream.calls == 1)
        }
    }

    @Test("two credentials never share an entry across replicas")
    func isolation() async throws {
        let cluster = try await PostgresCluster.shared
        let url = cluster.url(try await cluster.createDatabase())
        let upstream = FakeUpstream()
        try await Harness.runReplicas(2, upstream: upstream, configure: Self.sharing(url)) { replicas in
            try await waitUntilUp(replicas)
            expectCache(try await replicas[0].post(headers: [.authorization: "Bearer sk-tenant-one"]), "MISS")
            try await eventually { try await entries(url) == 1 }
            expectCache(try await replicas[1].post(headers: [.authorization: "Bearer sk-tenant-two"]), "MISS")
            #expect(upstream.calls == 2)
            try await eventually { try await entries(url) == 2 }
            expectCache(try await replicas[1].post(headers: [.authorization: "Bearer sk-tenant-one"]), "HIT")
            #expect(upstream.calls == 2)
            // Nothing in the shared database holds a credential.
            let dump = try await cluster.sql(
                "SELECT encode(key, 'hex') || route || model || encode(body, 'escape') FROM cachette_entries", database: dbName(url))
            #expect(!dump.contains("sk-tenant"))
        }
    }

    @Test("40 concurrent identical misses split across two replicas make one upstream call")
    func crossReplicaSingleFlight() async throws {
        let cluster = try await PostgresCluster.shared
        let url = cluster.url(try await cluster.createDatabase())
        let upstream = FakeUpstream()
        upstream.reply(.init(delay: .milliseconds(1500)))
        try await Harness.runReplicas(2, upstream: upstream, configure: Self.sharing(url)) { replicas in
            try await waitUntilUp(replicas)
            let bodies = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for i in 0..<40 {
                    let replica = replicas[i % 2]
                    group.addTask {
                        let response = try await HTTPClient.shared.execute(replica.clientRequest(), timeout: .seconds(30))
                        let body = try await response.body.collect(upTo: 1 << 20)
                        return (Int(response.status.code), String(buffer: body))
                    }
                }
                var out: [(Int, String)] = []
                for try await result in group { out.append(result) }
                return out
            }
            #expect(bodies.allSatisfy { $0.0 == 200 })
            #expect(Set(bodies.map(\.1)).count == 1, "every caller got the one answer")
            let states = [try await replicas[0].json("/stats")["shared"], try await replicas[1].json("/stats")["shared"]]
            #expect(upstream.calls == 1, "\(states)")
            let waits = try await sharedCount(replicas[0], "flight_waits") + sharedCount(replicas[1], "flight_waits")
            #expect(waits == 1, "one replica led, the other waited once for it")
        }
    }

    @Test("/health reports the shared tier's state; the password never shows in /health, /stats, /metrics or logs")
    func healthAndRedaction() async throws {
        let cluster = try await PostgresCluster.shared
        let database = try await cluster.createDatabase()
        let wrong = "wrong-\(UInt64.random(in: 1 ... .max))"
        let logs = LogCapture()
        try await Harness.runReplicas(
            2, logs: logs,
            configure: { config, index in
                config.shared.url = try? SharedURL(cluster.url(database, password: index == 0 ? PostgresCluster.password : wrong))
                config.shared.timeout = .seconds(2)
            }
        ) { replicas in
            try await waitUntilUp([replicas[0]])
            let good = try await replicas[0].json("/health")
            #expect(good["shared"]?["state"]?.stringValue == "up")
            #expect(good["shared"]?["url"]?.stringValue == "postgres://cachette:***@127.0.0.1:\(cluster.port)/\(database)?sslmode=disable")
            try await eventually { try await replicas[1].json("/health")["shared"]?["state"]?.stringValue == "down" }
            let bad = try await replicas[1].get("/health")
            #expect(bad.status == .ok, "a sidecar without its shared tier still serves")
            let error = try #require(try await replicas[1].json("/health")["shared"]?["last_error"]?.stringValue)
            #expect(!error.isEmpty)
            // Requests still work through the replica whose shared tier is down.
            expectCache(try await replicas[1].post(), "MISS")
            expectCache(try await replicas[1].post(), "HIT")
            var everything = logs.all
            for replica in replicas {
                for path in ["/health", "/stats", "/metrics"] { everything += try await replica.get(path).text }
            }
            #expect(!everything.contains(PostgresCluster.password))
            #expect(!everything.contains(wrong))
            let metrics = try await replicas[0].get("/metrics").text
            #expect(metrics.contains("cachette_shared_up 1"))
            #expect(try await replicas[1].get("/metrics").text.contains("cachette_shared_up 0"))
        }
    }
}

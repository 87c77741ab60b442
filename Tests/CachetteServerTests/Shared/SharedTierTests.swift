import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import NIOCore
import Testing

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

@Suite("Cluster figures")
struct ClusterStatsTests {
    @Test("/stats?scope=cluster equals the sum of the replicas' /stats, per model; cachette stats --cluster shows it")
    func clusterEqualsSum() async throws {
        let cluster = try await PostgresCluster.shared
        let url = cluster.url(try await cluster.createDatabase())
        try await Harness.runReplicas(2, configure: SharedTierTests.sharing(url)) { replicas in
            try await waitUntilUp(replicas)
            for i in 0..<12 {
                let model = i % 3 == 0 ? "gpt-4o-mini" : "gpt-4o"
                let body = #"{"model":"\#(model)","messages":[{"role":"user","content":"question \#(i % 5)"}]}"#
                _ = try await replicas[i % 2].post("/v1/chat/completions", body)
            }
            var sum: [String: [String: Double]] = [:]
            var requests = 0
            for replica in replicas {
                let stats = try await replica.json("/stats?window=all")
                requests += stats["requests"]?.intValue ?? 0
                for model in stats["models"]?.members ?? [] {
                    for field in model.value.members ?? [] where field.key != "hit_ratio" {
                        sum[model.key, default: [:]][field.key, default: 0] += field.value.doubleValue ?? 0
                    }
                }
            }
            #expect(requests == 12)
            var document: JSONValue = .null
            try await eventually {
                document = try await replicas[0].json("/stats?scope=cluster&window=24h")
                return document["requests"]?.intValue == requests
            }
            #expect(document["scope"]?.stringValue == "cluster")
            #expect(document["replicas"]?.intValue == 2)
            let models = document["models"]?.members ?? []
            #expect(Set(models.map(\.key)) == Set(sum.keys))
            for (name, sums) in sum {
                // A ratio is not summed: it is the summed hits over the summed hits and misses.
                sum[name]?["hit_ratio"] = HitRatio.of(hits: Int(sums["hits"] ?? 0), misses: Int(sums["misses"] ?? 0))
            }
            #expect(document["misses"]?.intValue == sum.values.reduce(0) { $0 + Int($1["misses"] ?? 0) })
            for model in models {
                for field in model.value.members ?? [] {
                    let expected = sum[model.key]?[field.key] ?? -1
                    #expect(abs((field.value.doubleValue ?? -2) - expected) < 1e-9, "\(model.key).\(field.key)")
                }
            }
            #expect(
                try await replicas[1].json("/stats?scope=cluster&window=24h")["requests"]?.intValue == requests, "the same from every replica")

            let table = try await CLI.run(["stats", "--cluster", "--url", replicas[1].baseURL, "--window", "24h"])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.contains("replicas") && table.stdout.contains("gpt-4o-mini"))
            #expect(table.stdout.range(of: #"requests\s+12"#, options: .regularExpression) != nil, "\(table.stdout)")
        }
    }

    @Test("scope=cluster without a shared tier is a clear 400; a bad scope too")
    func clusterNeedsShared() async throws {
        try await Harness.run { h in
            let response = try await h.get("/stats?scope=cluster")
            #expect(response.status == .badRequest)
            #expect(response.text.contains("no_cluster_ledger"))
            #expect(try await h.get("/stats?scope=galaxy").text.contains("invalid_scope"))
            let cli = try await CLI.run(["stats", "--cluster", "--url", h.baseURL])
            #expect(cli.status == 1 && cli.stderr.contains("shared tier"), "\(cli.stderr)")
        }
    }
}

// MARK: Helpers

/// Waits until every replica's shared tier has connected and migrated.
func waitUntilUp(_ replicas: [Harness]) async throws {
    for replica in replicas {
        try await eventually(within: .seconds(30)) { try await replica.json("/health")["shared"]?["state"]?.stringValue == "up" }
    }
}

/// One of /stats's `shared` counts.
func sharedCount(_ replica: Harness, _ name: String) async throws -> Int {
    try await replica.json("/stats")["shared"]?[name]?.intValue ?? -1
}

func dbName(_ url: String) -> String {
    String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
}

/// Entries in the shared tier at `url`.
func entries(_ url: String) async throws -> Int {
    Int(try await PostgresCluster.shared.sql("SELECT count(*) FROM cachette_entries", database: dbName(url))) ?? -1
}

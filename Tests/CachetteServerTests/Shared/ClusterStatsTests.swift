import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import NIOCore
import Testing

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

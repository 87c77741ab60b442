import CachetteCore
import HTTPTypes
import Testing

/// One request of each outcome, then every place that counts them: /stats, /metrics,
/// the ledger (its per-model rows in /stats) and `cachette stats`.
@Suite("One vocabulary of outcomes")
struct OutcomeAgreementTests {
    static func chat(_ prompt: String) -> String {
        #"{"model":"gpt-4o","messages":[{"role":"user","content":"\#(prompt)"}]}"#
    }

    @Test("hit, stale, miss, bypass, rejected and error are counted alike everywhere")
    func agree() async throws {
        try await Harness.run { h in
            let ttl = HTTPField.Name("x-cachette-ttl")!
            expectCache(try await h.post("/v1/chat/completions", Self.chat("soon stale"), headers: [ttl: "1"]), "MISS")
            try await Task.sleep(for: .milliseconds(1100))
            expectCache(try await h.post("/v1/chat/completions", Self.chat("kept")), "MISS")
            expectCache(try await h.post("/v1/chat/completions", Self.chat("kept")), "HIT")
            expectCache(try await h.post("/v1/chat/completions", Self.chat("kept"), headers: [.cacheControl: "no-cache"]), "BYPASS")
            let passthrough = try await h.get("/v1/models")
            #expect(passthrough.status == .ok && passthrough.xCache == "BYPASS")
            let rejected = try await h.post("/v1/chat/completions", "not json")
            // X-Cache names every outcome as /stats books it: refusals and failures included.
            #expect(rejected.status == .badRequest && rejected.xCache == "REJECTED")
            h.upstream.reply(.init(status: 500, body: #"{"error":{"message":"down"}}"#))
            expectCache(try await h.post("/v1/chat/completions", Self.chat("soon stale")), "STALE")
            let failed = try await h.post("/v1/chat/completions", Self.chat("never stored"))
            #expect(failed.status == .internalServerError && failed.xCache == "ERROR")

            // requests = 8: 1 hit, 1 stale, 2 misses, 2 bypassed (one passthrough), 1 rejected, 1 error.
            let expected: [(stats: String, outcome: String, count: Int)] = [
                ("hits", "hit", 1), ("stale", "stale", 1), ("misses", "miss", 2), ("bypassed", "bypass", 2),
                ("rejected", "rejected", 1), ("upstream_errors", "error", 1),
            ]
            let stats = try await h.json("/stats")
            #expect(stats["requests"]?.intValue == 8)
            for row in expected { #expect(stats[row.stats]?.intValue == row.count, "/stats \(row.stats)") }
            #expect(stats["hit_ratio"]?.doubleValue == 0.3333)

            let metrics = MetricsTests.samples(try await h.get("/metrics").text)
            for row in expected {
                let counted = metrics.filter { $0.key.hasPrefix("cachette_requests_total{") && $0.key.contains(#"outcome="\#(row.outcome)""#) }
                #expect(counted.values.reduce(0, +) == Double(row.count), "/metrics outcome=\(row.outcome)")
            }
            #expect(metrics["cachette_cache_hits_total"] == 1 && metrics["cachette_cache_misses_total"] == 2)
            #expect(metrics["cachette_stale_served_total"] == 1)

            // The ledger books every request /stats counts: its per-model rows, the series and the recent rows add
            // up to /stats's figures. The passthrough and the refusal named no model.
            try await eventually { try await h.json("/stats")["models"]?["gpt-4o"]?["requests"]?.intValue == 6 }
            let models = try #require(try await h.json("/stats")["models"]?.members)
            #expect(models.map(\.key).sorted() == ["(none)", "gpt-4o"])
            #expect(models.reduce(0) { $0 + ($1.value["requests"]?.intValue ?? 0) } == 8, "the models' requests add up to /stats's")
            let model = try #require(models.first { $0.key == "gpt-4o" }?.value)
            #expect(model["hits"]?.intValue == 1 && model["misses"]?.intValue == 2)
            // One definition of the hit ratio: hits / (hits + misses), per model as overall.
            #expect(model["hit_ratio"]?.doubleValue == stats["hit_ratio"]?.doubleValue)

            let series = try await h.json("/stats/series?window=1h")
            for row in expected {
                let counts = series["requests"]?[row.outcome]?.arrayValue?.compactMap(\.intValue) ?? []
                #expect(counts.reduce(0, +) == row.count, "/stats/series \(row.outcome)")
            }
            let recent = try #require(try await h.json("/stats/recent?limit=50")["requests"]?.arrayValue)
            for row in expected {
                #expect(recent.count { $0["outcome"]?.stringValue == row.outcome } == row.count, "/stats/recent \(row.outcome)")
            }

            let table = try await CLI.run(["stats", "--url", h.baseURL])
            for (label, count) in [
                ("requests", 8), ("cache hits", 1), ("stale answers", 1), ("cache misses", 2), ("bypassed", 2),
                ("rejected", 1), ("upstream errors", 1),
            ] {
                #expect(table.stdout.range(of: "(^|\n)\(label)\\s+\(count)\n", options: .regularExpression) != nil, "cachette stats: \(label)")
            }
            #expect(table.stdout.range(of: "\nhit ratio\\s+33.3%\n", options: .regularExpression) != nil, "cachette stats: the hit ratio")
            #expect(table.stdout.range(of: "\ngpt-4o\\s+6\\s+1\\s+33.3%", options: .regularExpression) != nil, "the model's row: \(table.stdout)")
        }
    }
}

import CachetteCore
@testable import CachetteServer
import Foundation
import Testing

@Suite("Savings in /stats")
struct StatsSavingsTests {
    @Test("/stats has dollars and per-model figures for a window, kept across a restart")
    func savings() async throws {
        let database = Harness.temporaryDatabase()
        try await Harness.run(database: database) { h in
            expectCache(try await h.post(), "MISS")
            expectCache(try await h.post(), "HIT")
            let stats = try await h.json("/stats?window=1h")
            #expect(stats["window"] == .string("1h"))
            let model = try #require(stats["models"]?["gpt-4o"])
            #expect(model["requests"]?.intValue == 2 && model["hits"]?.intValue == 1)
            #expect(model["input_tokens"]?.intValue == 11 && model["output_tokens"]?.intValue == 7)
            #expect(model["saved_tokens"]?.intValue == 18)
            // gpt-4o at 2.50 in, 10.00 out per million: 11 × 2.5 + 7 × 10 = 97.5 per million.
            #expect(stats["cost"]?["spent_usd"]?.doubleValue.map { abs($0 - 0.0000975) < 1e-9 } == true)
            #expect(stats["cost"]?["saved_usd"]?.doubleValue.map { abs($0 - 0.0000975) < 1e-9 } == true)
            #expect(stats["hits"]?.intValue == 1, "the top-level fields stay as they were")
            let bad = try await h.get("/stats?window=2h")
            #expect(bad.status == .badRequest)
            #expect(bad.text.contains("invalid_window"))
        }
        try await Harness.run(database: database) { h in
            let all = try await h.json("/stats")
            #expect(all["window"] == .string("all"))
            #expect(all["models"]?["gpt-4o"]?["requests"]?.intValue == 2)
            let hour = try await h.json("/stats?window=1h")
            #expect(hour["models"]?["gpt-4o"]?["hits"]?.intValue == 1)
        }
    }

    @Test("an answer without usage has its tokens counted, stored, and marked")
    func countedWhenMissing() async throws {
        let upstream = FakeUpstream()
        upstream.reply(
            .init(
                body:
                    #"{"id":"x","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hello world"},"finish_reason":"stop"}]}"#
            ))
        try await Harness.run(upstream: upstream) { h in
            expectCache(try await h.post(), "MISS")
            expectCache(try await h.post(), "HIT")
            let model = try #require(try await h.json("/stats")["models"]?["gpt-4o"])
            // Prompt: 3 + (3 + "user" 1 + "Say hello" 2) = 9 with o200k; completion "hello world" = 2.
            #expect(model["input_tokens"]?.intValue == 9)
            #expect(model["output_tokens"]?.intValue == 2)
            #expect(model["saved_tokens"]?.intValue == 11, "the hit reuses the counted usage stored with the entry")
        }
    }
}

@Suite("Pricing configuration")
struct PricingConfigTests {
    @Test("config/pricing.yaml is the shipped table, and covers OpenAI, Anthropic and Google")
    func shipped() throws {
        let file = try ConfigLoader.priceFile(ConfigTests.repoRoot.appendingPathComponent("config/pricing.yaml").path, key: "pricing.file")
        #expect(file == CachetteConfig.shippedPrices)
        let table = PriceTable(file)
        for model in [
            "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-5", "o3", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5-pro", "gemini-2.5-flash",
        ] {
            #expect(table.price(for: model) != nil, "\(model)")
        }
        #expect(table.price(for: "gpt-4o-mini")?.input == 0.15)
    }

    @Test("pricing.models overrides single entries and keeps the rest of the shipped table")
    func overrides() throws {
        var config = CachetteConfig()
        try ConfigLoader.apply(
            yaml: """
                pricing:
                  models:
                    "gpt-4o*": {input: 1, output: 2}
                    my-model: {input: 0.5, output: 0.5, cached_input: 0.1}
                ledger: {retention: 7d}
                """, to: &config)
        #expect(config.accounting.prices.price(for: "gpt-4o")?.input == 1)
        #expect(config.accounting.prices.price(for: "my-model")?.cachedInput == 0.1)
        #expect(config.accounting.prices.price(for: "claude-sonnet-4") != nil, "the rest of the shipped table stays")
        #expect(config.accounting.ledgerRetention == .seconds(7 * 86400))
    }

    @Test("pricing.file replaces the shipped table")
    func priceFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-pricing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "models:\n  only-this: {input: 1, output: 1}\n".write(to: dir.appendingPathComponent("mine.yaml"), atomically: true, encoding: .utf8)
        var replaced = CachetteConfig()
        try ConfigLoader.apply(yaml: "pricing: {file: mine.yaml}", to: &replaced, directory: dir.path)
        #expect(replaced.accounting.prices.entries.keys.sorted() == ["only-this"])
    }

    @Test("a bad price or ledger setting is refused, naming its key")
    func badPrices() throws {
        for (yaml, key) in [
            ("pricing:\n  models:\n    m: {input: cheap, output: 1}", "pricing.models.m.input"),
            ("pricing:\n  models:\n    m: {input: 1}", "pricing.models.m"),
            ("pricing:\n  currency: eur", "pricing.currency"),
            ("ledger:\n  retention: forever", "ledger.retention"),
        ] {
            var c = CachetteConfig()
            #expect { try ConfigLoader.apply(yaml: yaml, to: &c) } throws: { ($0 as? ConfigError)?.key == key }
        }
    }
}

@Suite("Prometheus metrics")
struct MetricsTests {
    /// `name{labels} value` lines, comments aside.
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                Issue.record("not a sample line: \(line)")
                continue
            }
            out[String(line[..<space])] = value
        }
        return out
    }

    @Test("/metrics is Prometheus text with requests, hits and misses, tokens, bytes stored and a latency histogram")
    func scrape() async throws {
        try await Harness.run { h in
            expectCache(try await h.post(), "MISS")
            expectCache(try await h.post(), "HIT")
            _ = try await h.post("/v1/chat/completions", "not json")
            try await eventually { try await h.statsValue("cache", "entries") == 1 }
            let response = try await h.get("/metrics")
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let s = Self.samples(response.text)
            let chat = #"route="/v1/chat/completions""#
            #expect(s[#"cachette_requests_total{\#(chat),outcome="hit",model="gpt-4o"}"#] == 1)
            #expect(s[#"cachette_requests_total{\#(chat),outcome="miss",model="gpt-4o"}"#] == 1)
            #expect(s[#"cachette_requests_total{\#(chat),outcome="rejected",model="(none)"}"#] == 1, "named no model: booked as the ledger books it")
            #expect(s["cachette_cache_hits_total"] == 1)
            #expect(s["cachette_cache_misses_total"] == 1)
            #expect(s[#"cachette_tokens_total{model="gpt-4o",kind="input"}"#] == 11)
            #expect(s[#"cachette_tokens_total{model="gpt-4o",kind="output"}"#] == 7)
            #expect(s[#"cachette_tokens_total{model="gpt-4o",kind="saved_cache"}"#] == 18)
            #expect(s[#"cachette_tokens_total{model="gpt-4o",kind="saved_compression"}"#] == 0)
            // 11 × 2.5 + 7 × 10 per million, spent by the miss and saved by the hit.
            #expect(abs((s[#"cachette_cost_usd_total{model="gpt-4o",kind="spent"}"#] ?? 0) - 0.0000975) < 1e-12)
            #expect(abs((s[#"cachette_cost_usd_total{model="gpt-4o",kind="saved_cache"}"#] ?? 0) - 0.0000975) < 1e-12)
            #expect(s[#"cachette_cost_usd_total{model="gpt-4o",kind="saved_compression"}"#] == 0)
            // Every series is described.
            let lines = response.text.split(separator: "\n")
            let described = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
            let typed = Set(lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
            for sample in s.keys {
                let name = sample.prefix { $0 != "{" }
                let base = ["_bucket", "_sum", "_count"].reduce(Substring(name)) { name, suffix in
                    name.hasSuffix(suffix) && name.hasPrefix("cachette_request_duration") ? name.dropLast(suffix.count) : name
                }
                #expect(described.contains(base) && typed.contains(base), "\(sample) has # HELP and # TYPE")
            }
            // A `_total` series is a counter (the store's and shared tier's counts included), so rate() reads it.
            let totals = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ") }.filter { $0[2].hasSuffix("_total") }
            #expect(totals.count >= 15)
            for line in totals { #expect(line[3] == "counter", "\(line.joined(separator: " "))") }
            #expect((s["cachette_cache_bytes"] ?? 0) > 0)
            #expect(s[#"cachette_request_duration_seconds_count{route="/v1/chat/completions"}"#] == 2)
            #expect(s[#"cachette_request_duration_seconds_bucket{route="/v1/chat/completions",le="+Inf"}"#] == 2)
        }
    }
}

@Suite("Per-model metrics")
struct PerModelMetricsTests {
    @Test("model labels are bounded by accounting.max_models; later names are booked as other, as in /stats")
    func bounded() async throws {
        try await Harness.run(configure: { $0.accounting.maxModels = 1 }) { h in
            for model in ["gpt-4o", "made-up-model-1", "made-up-model-2"] {
                _ = try await h.post("/v1/chat/completions", #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#)
            }
            let s = MetricsTests.samples(try await h.get("/metrics").text)
            let models = Set(s.keys.filter { $0.hasPrefix("cachette_requests_total{") }.compactMap { $0.firstMatch(of: /model="([^"]*)"/)?.1 })
            #expect(models == ["(none)", "gpt-4o", "other"])
            #expect(s[#"cachette_requests_total{route="/v1/chat/completions",outcome="miss",model="other"}"#] == 2)
            #expect(Set(try await h.json("/stats")["models"]?.members?.map(\.key) ?? []) == ["gpt-4o", "other"])
        }
    }
}

@Suite("Dashboard data: /stats/series and /stats/recent")
struct DashboardDataTests {
    @Test("traffic shows in the newest bucket and the recent list, with nothing of the prompt or the credential")
    func seriesAndRecent() async throws {
        try await Harness.run { h in
            expectCache(try await h.post(), "MISS")
            expectCache(try await h.post(), "HIT")
            let series = try await h.json("/stats/series?window=1h")
            #expect(series["window"] == .string("1h") && series["step"]?.intValue == 60)
            let buckets = try #require(series["buckets"]?.intValue)
            #expect(buckets == 61 || buckets == 62)
            #expect(series["time"]?.arrayValue?.count == buckets)
            for outcome in RequestOutcome.allCases {
                #expect(series["requests"]?[outcome.rawValue]?.arrayValue?.count == buckets, "\(outcome)")
            }
            func sum(_ path: [String]) -> Double {
                var value: JSONValue? = series
                for key in path { value = value?[key] }
                return value?.arrayValue?.compactMap(\.doubleValue).reduce(0, +) ?? -1
            }
            #expect(sum(["requests", "hit"]) == 1 && sum(["requests", "miss"]) == 1)
            let stats = try await h.json("/stats?window=1h")
            #expect(abs(sum(["spent_usd"]) - (stats["cost"]?["spent_usd"]?.doubleValue ?? -1)) < 1e-9)
            #expect(abs(sum(["saved_cache_usd"]) - (stats["cost"]?["saved_cache_usd"]?.doubleValue ?? -1)) < 1e-9)
            #expect(sum(["saved_cache_tokens"]) == 18)
            #expect(try await h.json("/stats/series?window=24h&step=1h")["buckets"]?.intValue == 25)
            try await eventually { try await h.json("/stats")["cache"]?["oldest_entry"]?.stringValue != nil }
            #expect(try await h.json("/stats")["cache"]?["max_bytes"]?.intValue == h.config.cache.maxBytes)

            let recent = try await h.get("/stats/recent?limit=5")
            let rows = try #require(try JSONValue.parse(recent.text)["requests"]?.arrayValue)
            #expect(rows.map { $0["outcome"]?.stringValue } == ["hit", "miss"])
            #expect(rows.allSatisfy { $0["model"]?.stringValue == "gpt-4o" && $0["route"]?.stringValue == "/v1/chat/completions" })
            #expect(rows[1]["prompt_tokens"]?.intValue == 11 && rows[1]["completion_tokens"]?.intValue == 7)
            #expect(rows[0]["saved_usd"]?.doubleValue.map { $0 > 0 } == true)
            #expect(!recent.text.contains("Say hello") && !recent.text.contains("sk-test"), "no prompt, no credential")
        }
    }

    @Test("bad windows, steps and limits are clear 400s")
    func badParameters() async throws {
        try await Harness.run { h in
            for (path, code) in [
                ("/stats/series?window=2h", "invalid_window"), ("/stats/series?step=fast", "invalid_step"),
                ("/stats/series?step=90s", "invalid_step"), ("/stats/series?window=7d&step=1m", "invalid_step"),
                ("/stats/recent?limit=0", "invalid_limit"), ("/stats/recent?limit=501", "invalid_limit"),
                ("/stats/recent?limit=x", "invalid_limit"),
            ] {
                let response = try await h.get(path)
                #expect(response.status == .badRequest, "\(path)")
                #expect(response.text.contains(code), "\(path): \(response.text)")
            }
        }
    }
}

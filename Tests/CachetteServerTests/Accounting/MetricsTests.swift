import CachetteCore
@testable import CachetteServer
import Foundation
import Testing

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

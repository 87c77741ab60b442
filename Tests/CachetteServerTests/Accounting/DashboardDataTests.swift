import CachetteCore
@testable import CachetteServer
import Foundation
import Testing

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

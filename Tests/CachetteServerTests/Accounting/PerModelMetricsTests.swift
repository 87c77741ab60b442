import CachetteCore
@testable import CachetteServer
import Foundation
import Testing

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

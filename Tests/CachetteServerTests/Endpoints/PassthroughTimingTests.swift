import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing

@Suite("Passthrough timing")
struct PassthroughTimingTests {
    @Test("passthrough requests move the passthrough latency histogram")
    func passthroughHistogram() async throws {
        try await Harness.run { h in
            _ = try await h.post("/v1/files", #"{"model":"gpt-4o","purpose":"batch"}"#)
            let metrics = String(buffer: try await h.get("/metrics").body)
            let line = metrics.split(separator: "\n").first { $0.hasPrefix(#"cachette_request_duration_seconds_count{route="passthrough"}"#) }
            #expect(line.map { $0.hasSuffix(" 1") } == true, "\(line ?? "no line")")
        }
    }
}

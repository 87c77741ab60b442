import CachetteCore
@testable import CachetteServer
import HTTPTypes
import HummingbirdTesting
import Testing

/// W3C trace context across the proxy. The spans themselves, decoded by a real OTLP
/// receiver, are checked in `Tests/Integration/telemetry.py`.
@Suite("Trace context")
struct TracePropagationTests {
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let traceparent = "00-\(traceID)-00f067aa0ba902b7-01"

    @Test("telemetry off: the client's traceparent and tracestate reach the upstream as sent")
    func off() async throws {
        try await Harness.run { h in
            _ = try await h.post(headers: [HTTPField.Name("traceparent")!: Self.traceparent, HTTPField.Name("tracestate")!: "v=1"])
            #expect(h.upstream.lastHeaders[HTTPField.Name("traceparent")!] == Self.traceparent)
            #expect(h.upstream.lastHeaders[HTTPField.Name("tracestate")!] == "v=1")
        }
    }

    @Test("telemetry on: the upstream gets the upstream span's context in the client's trace")
    func on() async throws {
        // The fake upstream takes the spans too (after the body: the exporter's first batch is 5 s away).
        try await Harness.run(configure: { $0.telemetry.tracesEndpoint = $0.upstream.baseURL + "/traces" }) { h in
            let miss = try await h.post(headers: [HTTPField.Name("traceparent")!: Self.traceparent])
            #expect(miss.status == .ok)
            let sent = (h.upstream.lastHeaders[HTTPField.Name("traceparent")!] ?? "").split(separator: "-").map(String.init)
            #expect(sent.count == 4 && sent[1] == Self.traceID && sent[2] != "00f067aa0ba902b7" && sent[3] == "01", "\(sent)")
            // Without a client context, a new trace, still propagated.
            _ = try await h.post("/v1/chat/completions", #"{"model":"gpt-4o","messages":[{"role":"user","content":"other"}]}"#)
            let fresh = (h.upstream.lastHeaders[HTTPField.Name("traceparent")!] ?? "").split(separator: "-").map(String.init)
            #expect(fresh.count == 4 && fresh[1] != Self.traceID && fresh[1] != String(repeating: "0", count: 32))
            expectCache(try await h.post(headers: [HTTPField.Name("traceparent")!: Self.traceparent]), "HIT")
        }
    }
}

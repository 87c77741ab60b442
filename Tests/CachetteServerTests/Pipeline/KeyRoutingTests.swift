import AsyncHTTPClient
import CachetteCore
import CachetteServer
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// A client's key goes only to the upstream of the model it asked for.
@Suite("Keys go only where their model goes")
struct KeyRoutingTests {
    /// An anthropic upstream of its own and an OpenAI one, and no default.
    static func twoUpstreams(_ anthropic: some TestClientProtocol) -> @Sendable (inout CachetteConfig) -> Void {
        let port = anthropic.port ?? 0
        return { config in
            let openaiURL = config.upstream.baseURL
            config.upstreams = [
                .init(name: "anthropic", baseURL: "http://127.0.0.1:\(port)/v1", format: .anthropic, models: ["claude-*"]),
                .init(name: "openai", baseURL: openaiURL, models: ["gpt-*"]),
            ]
        }
    }

    @Test("a passthrough body that parses as JSON, whatever its label, picks the upstream by its model")
    func passthroughRouting() async throws {
        let anthropic = FakeUpstream()
        try await anthropic.application.test(.live) { anthropicClient in
            try await Harness.run(configure: Self.twoUpstreams(anthropicClient)) { h in
                // curl -d sends a form content type; the body is still JSON naming an OpenAI model.
                let form = try await h.post(
                    "/v1/files", #"{"model":"gpt-4o","purpose":"batch"}"#, headers: [.contentType: "application/x-www-form-urlencoded"])
                #expect(form.status == .ok)
                #expect(h.upstream.calls(to: "/v1/files") == 1 && anthropic.calls == 0)
                #expect(h.upstream.lastHeaders[.authorization] == "Bearer sk-test-one")
            }
        }
    }

    @Test("a passthrough request with no model and no default upstream is a 400, sent nowhere")
    func passthroughNoDefault() async throws {
        let anthropic = FakeUpstream()
        try await anthropic.application.test(.live) { anthropicClient in
            try await Harness.run(configure: Self.twoUpstreams(anthropicClient)) { h in
                for (body, type) in [("purpose=batch", "application/x-www-form-urlencoded"), (#"{"purpose":"batch"}"#, "application/json")] {
                    let refused = try await h.post("/v1/files", body, headers: [.contentType: type])
                    #expect(refused.status == .badRequest)
                    #expect(refused.text.contains("no_default_upstream") && refused.text.contains("default"))
                }
                #expect(h.upstream.calls == 0 && anthropic.calls == 0, "no key reached any upstream")
            }
        }
    }
}

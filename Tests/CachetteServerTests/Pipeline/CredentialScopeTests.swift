import AsyncHTTPClient
import CachetteCore
import CachetteServer
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Different credentials never share entries, wherever the request carries them.
@Suite("Credential scope fails closed")
struct CredentialScopeTests {
    static func post(_ h: Harness, path: String = "/v1/chat/completions", _ headers: HTTPFields, body: String = Harness.chatBody) async throws
        -> TestResponse
    {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await h.client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    @Test(
        "keys in the query string, x-goog-api-key or a configured header are part of the scope",
        arguments: [
            ("/v1/chat/completions?key=AIza-secret", "", ""),
            ("/v1/chat/completions", "x-goog-api-key", "AIza-secret"),
            ("/v1/chat/completions", "x-portkey-api-key", "pk-secret"),
            ("/v1/chat/completions", "authorization", "Bearer sk-secret"),
        ])
    func credentialPlaces(path: String, header: String, value: String) async throws {
        var headers = HTTPFields()
        if !header.isEmpty { headers[HTTPField.Name(header)!] = value }
        let keyed = headers
        try await Harness.run(configure: { $0.cache.credentialHeaders = ["x-portkey-api-key"] }) { h in
            expectCache(try await Self.post(h, path: path, keyed), "MISS")
            expectCache(try await Self.post(h, path: path, keyed), "HIT")
            // A client with no key at all must not get the keyed client's answer.
            expectCache(try await Self.post(h, [:]), "MISS")
            expectCache(try await Self.post(h, [:]), "HIT")  // keyless clients share one scope
            #expect(h.upstream.calls == 2)
        }
    }

    @Test("OpenAI-Organization, OpenAI-Project and anthropic-beta change the key, on every route")
    func answerHeaders() async throws {
        try await Harness.run { h in
            let base: HTTPFields = [.authorization: "Bearer sk-a"]
            expectCache(try await Self.post(h, base), "MISS")
            for (name, value) in [
                ("openai-organization", "org-1"), ("openai-project", "proj-1"), ("anthropic-beta", "x-1"), ("anthropic-version", "2023-01-01"),
            ] {
                var headers = base
                headers[HTTPField.Name(name)!] = value
                expectCache(try await Self.post(h, headers), "MISS")
                expectCache(try await Self.post(h, headers), "HIT")
            }
            expectCache(try await Self.post(h, base), "HIT")
        }
    }

    @Test("logs tag a credential with a keyed hash: never the key, and not the same tag for another database")
    func fingerprints() async throws {
        var tags: [String] = []
        for _ in 0..<2 {
            let logs = LogCapture()
            try await Harness.run(logs: logs, configure: { $0.logging.level = .debug }) { h in
                _ = try await Self.post(h, [.authorization: "Bearer sk-weak"])
                _ = try await Self.post(h, [.authorization: "Bearer sk-weak"])
            }
            #expect(!logs.all.contains("sk-weak"))
            let found = logs.all.split(separator: " ").compactMap { word -> String? in
                guard let range = word.range(of: "cred:") else { return nil }
                return String(word[range.lowerBound...].prefix(21))
            }
            #expect(found.count >= 2 && Set(found).count == 1, "one credential, one tag per database")
            tags += found.prefix(1)
        }
        #expect(tags.count == 2 && tags[0] != tags[1], "the tag is keyed by a per-database salt")
    }
}

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

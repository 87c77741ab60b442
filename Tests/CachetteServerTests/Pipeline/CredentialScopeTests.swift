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

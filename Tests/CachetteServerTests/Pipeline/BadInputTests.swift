import AsyncHTTPClient
import CachetteCore
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite("Bad input gets OpenAI-shaped errors and the server keeps serving")
struct BadInputTests {
    static func error(_ response: TestResponse) throws -> JSONValue {
        try #require(JSONValue.parse(response.body.readableBytesView)["error"])
    }

    @Test(
        "bodies that are not JSON, not an object or lack a model are 400s",
        arguments: [
            ("not json at all", "invalid_json"),
            (#"{"model":"gpt-4o","messages":[}"#, "invalid_json"),
            (#"["model","gpt-4o"]"#, "invalid_request_body"),
            ("", "invalid_json"),
            (#"{"messages":[{"role":"user","content":"hi"}]}"#, "missing_model"),
            (#"{"model":42,"messages":[]}"#, "missing_model"),
            (#"{"model":"gpt-4o"} trailing"#, "invalid_json"),
        ])
    func badBodies(body: String, code: String) async throws {
        try await Harness.run { h in
            let response = try await h.post("/v1/chat/completions", body)
            #expect(response.status == .badRequest)
            #expect(response.headers[.contentType] == "application/json")
            let error = try Self.error(response)
            #expect(error["type"]?.stringValue == "invalid_request_error")
            #expect(error["code"]?.stringValue == code)
            #expect(error["message"]?.stringValue?.isEmpty == false)
            #expect(h.upstream.calls == 0)
            try await expectCache(h.post(), "MISS")
        }
    }

    @Test("a body over server.max_body_bytes is a 413")
    func tooLarge() async throws {
        try await Harness.run(configure: { $0.server.maxBodyBytes = 1024 }) { h in
            let big = #"{"model":"gpt-4o","messages":[{"role":"user","content":""# + String(repeating: "x", count: 4096) + #""}]}"#
            let response = try await h.post("/v1/chat/completions", big)
            #expect(response.status == .contentTooLarge)
            #expect(try Self.error(response)["code"]?.stringValue == "request_too_large")
            // Chunked, with no Content-Length to refuse it early: caught while reading.
            let chunks = [ByteBuffer(string: String(big.prefix(600))), ByteBuffer(string: String(big.dropFirst(600)))]
            let chunked = try await HTTPClient.shared.execute(
                h.clientRequest("/v1/chat/completions", .stream(chunks.async, length: .unknown)), timeout: .seconds(10))
            #expect(chunked.status.code == 413)
            let chunkedBody = try await chunked.body.collect(upTo: 1 << 16)
            #expect(try JSONValue.parse(chunkedBody.readableBytesView)["error"]?["code"]?.stringValue == "request_too_large")
            #expect(h.upstream.calls == 0)
            try await expectCache(h.post(), "MISS")
            let stats = try await h.json("/stats")
            #expect(stats["requests"]?.intValue == 3)
            #expect(stats["misses"]?.intValue == 1)
        }
    }

    @Test("an unknown path outside /v1 is a 404 in the same shape")
    func unknownPath() async throws {
        try await Harness.run { h in
            let response = try await h.get("/nothing/here")
            #expect(response.status == .notFound)
            let error = try Self.error(response)
            #expect(error["code"]?.stringValue == "not_found")
            #expect(error["message"]?.stringValue?.contains("/nothing/here") == true)
            #expect(try await h.get("/health").status == .ok)
        }
    }

    @Test("bad requests do not disturb stored entries")
    func cacheSurvivesBadInput() async throws {
        try await Harness.run { h in
            _ = try await h.post()
            _ = try await h.post("/v1/chat/completions", "{{{")
            _ = try await h.post("/v1/chat/completions", #"{"model":""}"#)
            try await expectCache(h.post(), "HIT")
        }
    }
}

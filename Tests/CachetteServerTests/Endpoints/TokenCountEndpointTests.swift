import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing

@Suite("Token counting endpoint")
struct TokenCountEndpointTests {
    @Test("POST /v1/tokens/count counts text and messages locally, and refuses bad input")
    func counts() async throws {
        try await Harness.run { h in
            let text = try JSONValue.parse(try await h.post("/v1/tokens/count", #"{"model":"gpt-4o","text":"hello world"}"#).body.readableBytesView)
            #expect(text == .object(["tokens": .int(2), "encoding": .string("o200k_base"), "estimated": .bool(false)]))
            let chat = try JSONValue.parse(
                try await h.post(
                    "/v1/tokens/count", #"{"model":"gpt-4","messages":[{"role":"user","content":"hello world"}]}"#
                ).body.readableBytesView)
            #expect(chat["tokens"]?.intValue == 3 + 3 + 1 + 2)
            #expect(chat["encoding"]?.stringValue == "cl100k_base")
            let unknown = try JSONValue.parse(try await h.post("/v1/tokens/count", #"{"model":"mistral-large","text":"hi"}"#).body.readableBytesView)
            #expect(unknown["estimated"] == .bool(true))

            let noInput = try await h.post("/v1/tokens/count", #"{"model":"gpt-4o"}"#)
            #expect(noInput.status == .badRequest)
            #expect(noInput.text.contains("missing_input"))
            let noModel = try await h.post("/v1/tokens/count", #"{"text":"hi"}"#)
            #expect(noModel.status == .badRequest)
            #expect(noModel.text.contains("missing_model"))
            let notJSON = try await h.post("/v1/tokens/count", "hello")
            #expect(notJSON.status == .badRequest)
            #expect(h.upstream.calls == 0, "never forwarded")
        }
    }
}

import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import Testing

/// OpenAI chat requests for a model routed to an Anthropic-format upstream, end to end.
@Suite("/v1/chat/completions translated to an Anthropic upstream")
struct TranslationEndpointTests {
    static let body =
        #"{"model":"claude-sonnet-4-6","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello"}],"temperature":0.2}"#
    static let streamBody =
        #"{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"stream":true}"#

    @Test(
        "the request goes to /v1/messages in Anthropic's shape with the bearer key as x-api-key; the answer comes back as a chat completion and is cached"
    )
    func nonStreamed() async throws {
        try await Harness.run(configure: AnthropicMessagesTests.routed) { h in
            let miss = try await h.post("/v1/chat/completions", Self.body, headers: [.authorization: "Bearer sk-ant-client"])
            expectCache(miss, "MISS")
            #expect(h.upstream.calls(to: "/v1/messages") == 1 && h.upstream.calls(to: "/v1/chat/completions") == 0)
            #expect(h.upstream.lastHeaders[HTTPField.Name("x-api-key")!] == "sk-ant-client")
            #expect(h.upstream.lastHeaders[.authorization] == nil)
            #expect(h.upstream.lastHeaders[HTTPField.Name("anthropic-version")!] == "2023-06-01")
            let sent = try JSONValue.parse(h.upstream.lastBody)
            #expect(sent["system"] == .array([.object(["type": .string("text"), "text": .string("Be brief.")])]))
            #expect(sent["messages"] == .array([.object(["role": .string("user"), "content": .string("Say hello")])]))
            #expect(sent["max_tokens"]?.intValue == MessagesRequestTranslator.defaultMaxTokens)

            let answer = try JSONValue.parse(miss.text)
            #expect(answer["object"]?.stringValue == "chat.completion")
            #expect(answer["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == "answer number 1")
            #expect(answer["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue == "stop")
            #expect(answer["usage"]?["prompt_tokens"]?.intValue == 1110 && answer["usage"]?["completion_tokens"]?.intValue == 7)

            let hit = try await h.post("/v1/chat/completions", Self.body, headers: [.authorization: "Bearer sk-ant-client"])
            expectCache(hit, "HIT")
            #expect(hit.text == miss.text)
            #expect(h.upstream.calls == 1)
            #expect(try await h.statsValue("hits") == 1)
        }
    }

    @Test(
        "an Anthropic stream is translated live into OpenAI chunks with tool calls, recorded and replayed, and a non-stream request gets the assembled answer"
    )
    func streamed() async throws {
        let upstream = FakeUpstream()
        upstream.reply(.init(stream: FakeUpstream.anthropicToolStream()))
        try await Harness.run(upstream: upstream, configure: AnthropicMessagesTests.routed) { h in
            let miss = try await h.stream(Self.streamBody)
            #expect(miss.xCache == "MISS" && miss.contentType == "text/event-stream")
            #expect(miss.endsWithDone && miss.usageChunks.isEmpty, "no usage chunk: the client did not ask for one")
            #expect(!upstream.lastBody.contains("stream_options"))
            #expect(try JSONValue.parse(upstream.lastBody)["tools"]?.arrayValue?.first?["input_schema"] != nil)
            let assembled = miss.accumulated
            let message = assembled["choices"]?.arrayValue?.first?["message"]
            #expect(message?["content"]?.stringValue == "Let me check ✓")
            #expect(message?["tool_calls"]?.arrayValue?.first?["id"]?.stringValue == "toolu_1")
            #expect(message?["tool_calls"]?.arrayValue?.first?["function"]?["arguments"]?.stringValue == #"{"city": "Paris"}"#)
            #expect(assembled["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue == "tool_calls")

            let hit = try await h.stream(Self.streamBody)
            #expect(hit.xCache == "HIT")
            #expect(hit.text == miss.text.replacingOccurrences(of: ": ping\n\n", with: ""), "the replay is the translated recording")
            let withUsage = try await h.stream(
                Self.streamBody.replacingOccurrences(of: #""stream":true"#, with: #""stream":true,"stream_options":{"include_usage":true}"#))
            #expect(withUsage.usageChunks.first?["usage"]?["prompt_tokens"]?.intValue == 230)

            let whole = try await h.post("/v1/chat/completions", Self.streamBody.replacingOccurrences(of: #","stream":true"#, with: ""))
            expectCache(whole, "HIT")
            #expect(essentials(try JSONValue.parse(whole.text)) == essentials(assembled))
            #expect(upstream.calls == 1)
            let stats = try await h.json("/stats")
            #expect(stats["models"]?["claude-sonnet-4-6"]?["output_tokens"]?.intValue == 12)
        }
    }

    @Test("an untranslatable parameter is a 400 naming it, before any upstream call")
    func untranslatable() async throws {
        let upstream = FakeUpstream()
        try await Harness.run(upstream: upstream, configure: AnthropicMessagesTests.routed) { h in
            let refused = try await h.post(
                "/v1/chat/completions", Self.body.replacingOccurrences(of: #""temperature":0.2"#, with: #""logprobs":true"#))
            #expect(refused.status == .badRequest)
            let error = try JSONValue.parse(refused.text)["error"]
            #expect(error?["param"]?.stringValue == "logprobs" && error?["code"]?.stringValue == "untranslatable_parameter")
            #expect(error?["message"]?.stringValue?.contains("logprobs") == true)
            let refusedStream = try await h.stream(Self.streamBody.replacingOccurrences(of: #""stream":true"#, with: #""stream":true,"n":3"#))
            #expect(refusedStream.status == 400 && refusedStream.text.contains(#""param":"n""#))
            #expect(upstream.calls == 0)
        }
    }

    @Test("an Anthropic error comes back in OpenAI's shape, and is not cached")
    func upstreamErrors() async throws {
        let upstream = FakeUpstream()
        try await Harness.run(upstream: upstream, configure: AnthropicMessagesTests.routed) { h in
            upstream.reply(
                .init(status: 400, body: #"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 99999 > 64000"}}"#))
            let upstreamError = try await h.post("/v1/chat/completions", Self.body)
            #expect(upstreamError.status == .badRequest)
            let translated = try JSONValue.parse(upstreamError.text)["error"]
            #expect(translated?["message"]?.stringValue == "max_tokens: 99999 > 64000" && translated?["type"]?.stringValue == "invalid_request_error")
            upstream.reply(.init())
            expectCache(try await h.post("/v1/chat/completions", Self.body), "MISS")
            #expect(upstream.calls == 2)
        }
    }

    @Test("a translated stream that fails ends with one OpenAI error event and is not stored")
    func streamFailure() async throws {
        let upstream = FakeUpstream()
        upstream.reply(
            .init(
                stream: Array(FakeUpstream.anthropicToolStream().prefix(3))
                    + [.event("error", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)]))
        try await Harness.run(upstream: upstream, configure: AnthropicMessagesTests.routed) { h in
            let failed = try await h.stream(Self.streamBody)
            #expect(failed.lastError?["message"]?.stringValue == "Overloaded")
            #expect(failed.chunks.filter { $0["error"] != nil }.count == 1 && !failed.endsWithDone)
            upstream.reply(.init(stream: FakeUpstream.anthropicToolStream()))
            #expect(try await h.stream(Self.streamBody).xCache == "MISS")
            #expect(upstream.calls == 2)
        }
    }
}

import CachetteCore
import Foundation
import NIOCore
import Testing

/// OpenAI ⇄ Anthropic translation against hand-written golden files, compared as
/// canonical JSON (member order is not part of either format).
@Suite("Translation between OpenAI chat and Anthropic messages")
struct TranslationTests {
    static func fixture(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "translation"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func canonical(_ value: JSONValue) throws -> String {
        String(decoding: try CanonicalJSONWriter.canonicalize(value.serialized()), as: UTF8.self)
    }

    static func canonical(_ text: String) throws -> String {
        try canonical(JSONValue.parse(text))
    }

    @Test(
        "requests: system, roles, multi-part content and images, tools, tool_choice, tool results, stop and sampling",
        arguments: ["request-full", "request-minimal"])
    func request(name: String) throws {
        let translated = try MessagesRequestTranslator.translate(JSONValue.parse(Self.fixture("\(name).openai.json")))
        #expect(try Self.canonical(translated) == Self.canonical(Self.fixture("\(name).anthropic.json")))
    }

    @Test("answers: text, thinking, tool_use as tool_calls, finish_reason and usage", arguments: ["answer-tools", "answer-length"])
    func answer(name: String) throws {
        let message = try JSONValue.parse(Self.fixture("\(name).anthropic.json"))
        let completion = MessagesAnswerTranslator.completion(message, created: 1_700_000_000)
        #expect(try Self.canonical(completion) == Self.canonical(Self.fixture("\(name).openai.json")))
    }

    @Test(
        "finish reasons",
        arguments: [
            ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
            ("refusal", "content_filter"), ("pause_turn", "stop"), ("model_context_window_exceeded", "length"),
        ])
    func finishReason(stop: String, finish: String) {
        #expect(MessagesAnswerTranslator.finishReason(.string(stop)) == .string(finish))
    }

    /// Splits SSE text into its events: comments as they are, data as canonical JSON.
    static func events(_ sse: String) throws -> [String] {
        var parser = SSEParser()
        return try parser.feed(Array(sse.utf8)).map { event in
            if event.isComment || event.isDone { return String(decoding: event.raw, as: UTF8.self) }
            return try canonical(event.data)
        }
    }

    @Test(
        "a stream, fed in pieces of every size, becomes OpenAI chunks with tool_calls, the finish chunk, usage and [DONE]",
        arguments: [1, 7, 64, 100_000])
    func stream(pieceSize: Int) throws {
        let input = Array(try Self.fixture("stream-tools.anthropic.sse").utf8)
        var translator = MessagesStreamTranslator(created: 1_700_000_000)
        var output: [UInt8] = []
        for start in stride(from: 0, to: input.count, by: pieceSize) {
            output += translator.feed(ByteBuffer(bytes: input[start..<min(start + pieceSize, input.count)])).readableBytesView
        }
        #expect(try Self.events(String(decoding: output, as: UTF8.self)) == Self.events(Self.fixture("stream-tools.openai.sse")))

        // What the OpenAI SDK assembles from it is what the non-streamed translation gives.
        var recorder = StreamRecorder(limit: 1 << 20)
        _ = recorder.feed(ByteBuffer(bytes: output))
        guard case .complete(_, let answer?, let usage) = recorder.end() else {
            Issue.record("the translated stream did not complete")
            return
        }
        let message = answer["choices"]?.arrayValue?.first?["message"]
        #expect(message?["content"]?.stringValue == "Checking now ✓")
        #expect(message?["reasoning_content"]?.stringValue == "Paris, so get_weather.")
        #expect(message?["tool_calls"]?.arrayValue?.first?["function"]?["arguments"]?.stringValue == #"{"city": "Paris"}"#)
        #expect(answer["choices"]?.arrayValue?.first?["finish_reason"] == .string("tool_calls"))
        #expect(usage == TokenUsage(promptTokens: 125, completionTokens: 38, cachedPromptTokens: 100))
    }

    @Test("a failed Anthropic stream ends in an OpenAI error event, never [DONE]")
    func streamError() throws {
        var translator = MessagesStreamTranslator(created: 1)
        let start =
            #"event: message_start"# + "\n" + #"data: {"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1}}}"# + "\n\n"
        let error = #"event: error"# + "\n" + #"data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"# + "\n\n"
        let out = String(buffer: translator.feed(ByteBuffer(string: start + error)))
        #expect(out.hasSuffix(#"data: {"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":"overloaded_error"}}"# + "\n\n"))
        var recorder = StreamRecorder(limit: 1 << 20)
        _ = recorder.feed(ByteBuffer(string: out))
        #expect(recorder.sentErrorEvent)
        guard case .failed(let reason) = recorder.end() else {
            Issue.record("an errored stream must not complete")
            return
        }
        #expect(reason.contains("Overloaded"))

        var cut = MessagesStreamTranslator(created: 1)
        #expect(!String(buffer: cut.feed(ByteBuffer(string: start))).contains("[DONE]"))
    }

    @Test("an Anthropic error body becomes OpenAI's error shape")
    func errorBody() throws {
        let error = try #require(
            MessagesAnswerTranslator.error(
                JSONValue.parse(
                    #"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: must be at most 8192"}}"#
                )))
        #expect(error["error"]?["message"]?.stringValue == "max_tokens: must be at most 8192")
        #expect(error["error"]?["type"]?.stringValue == "invalid_request_error")
        #expect(try MessagesAnswerTranslator.error(JSONValue.parse(#"{"ok":true}"#)) == nil)
    }

    @Test(
        "what cannot be translated is refused, naming it",
        arguments: [
            (#""n":2"#, "n"), (#""logprobs":true"#, "logprobs"), (#""top_logprobs":3"#, "top_logprobs"),
            (#""temperature":1.5"#, "temperature"), (#""frequency_penalty":0.5"#, "frequency_penalty"),
            (#""response_format":{"type":"json_object"}"#, "response_format"), (#""seed":7"#, "seed"),
            (#""logit_bias":{"1":2}"#, "logit_bias"), (#""tools":[{"type":"custom","custom":{"name":"x"}}]"#, "tools[0].type"),
            (#""tool_choice":"sometimes""#, "tool_choice"), (#""audio":{"voice":"alloy"}"#, "audio"),
        ])
    func untranslatable(field: String, param: String) throws {
        let request = try JSONValue.parse(#"{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"Hi"}],\#(field)}"#)
        #expect {
            try MessagesRequestTranslator.translate(request)
        } throws: { error in
            guard let invalid = error as? InvalidRequest else { return false }
            return invalid.param == param && invalid.message.contains(param) && invalid.code == "untranslatable_parameter"
        }
    }

    @Test(
        "messages that cannot be translated are refused, naming the part",
        arguments: [
            (#"{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}"#, "messages[0].content[0].type"),
            (#"{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}"#, "messages[0].content[0].type"),
            (
                #"{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"not json"}}]}"#,
                "messages[0].tool_calls[0].function.arguments"
            ),
            (#"{"role":"tool","content":"x"}"#, "messages[0].tool_call_id"),
            (
                #"{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,notbase64"}}]}"#,
                "messages[0].content[0].image_url.url"
            ),
        ])
    func badMessages(message: String, param: String) throws {
        let request = try JSONValue.parse(#"{"model":"claude-sonnet-4-6","messages":[\#(message)]}"#)
        #expect {
            try MessagesRequestTranslator.translate(request)
        } throws: { error in
            (error as? InvalidRequest)?.param == param
        }
    }
}

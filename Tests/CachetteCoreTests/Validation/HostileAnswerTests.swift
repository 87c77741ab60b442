@testable import CachetteCore
import NIOCore
import Testing

/// Upstream bytes that once trapped the process or were stored wrong: each must end as
/// a clean refusal to keep the answer, never a crash or a wrong stored answer.
@Suite("Hostile answers: no trap, nothing wrong kept")
struct HostileAnswerTests {

    static func record(_ text: String, limit: Int = 1 << 20, format: APIFormat = .openai) -> StreamRecorder.End {
        var (fed, _) = recorder(text, limit: limit, format: format)
        return fed.end()
    }

    static func kept(_ outcome: StreamRecorder.End) -> JSONValue? {
        if case .complete(let recording?, let answer?, _) = outcome, recording.count > 0 { return answer }
        return nil
    }

    @Test("a tool call with index -1 or past the bound is not kept", arguments: ["-1", "-9223372036854775808", "99999999999"])
    func negativeToolCallIndex(index: String) {
        let text =
            ChatChunk.event(#"{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"arguments":""}}]}}"#)
            + ChatChunk.event(#"{"index":0,"delta":{"tool_calls":[{"index":\#(index),"function":{"arguments":"x"}}]}}"#)
            + "data: [DONE]\n\n"
        #expect(Self.kept(Self.record(text)) == nil)
    }

    @Test("usage past Int64, negative or fractional is clamped and counted")
    func hugeUsage() throws {
        let before = TokenUsage.clamps
        let usage = try #require(
            TokenUsage(
                usage: JSONValue.parse(
                    #"{"prompt_tokens":1180591620717411303424,"completion_tokens":-5,"prompt_tokens_details":{"cached_tokens":2.5}}"#)))
        #expect(usage.promptTokens == TokenUsage.maxCount)
        #expect(usage.completionTokens == 0)
        #expect(usage.cachedPromptTokens == 2)
        #expect(TokenUsage.clamps - before >= 3)
        let max = try #require(
            TokenUsage(
                usage: JSONValue.parse(
                    #"{"input_tokens":9223372036854775807,"cache_creation_input_tokens":9223372036854775807,"cache_read_input_tokens":9223372036854775807,"output_tokens":9223372036854775807}"#
                )))
        #expect(max.promptTokens == 3 * TokenUsage.maxCount)
        #expect(max.total > 0)
        // The translation sums Anthropic's counts too.
        let translated = MessagesAnswerTranslator.usage(
            try JSONValue.parse(#"{"input_tokens":9223372036854775807,"cache_read_input_tokens":9223372036854775807,"output_tokens":1}"#))
        #expect(translated["total_tokens"]?.intValue == 2 * TokenUsage.maxCount + 1)
    }

    @Test("a stream whose usage overflows records, with its usage clamped, but is not kept")
    func streamUsageOverflow() {
        let text =
            ChatChunk.event(#"{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}"#)
            + ChatChunk.event("", usage: #"{"prompt_tokens":1180591620717411303424,"completion_tokens":9223372036854775807,"total_tokens":-1}"#)
            + "data: [DONE]\n\n"
        let outcome = Self.record(text)
        #expect(Self.kept(outcome) == nil)
        guard case .complete(_, _, let usage?) = outcome else { Issue.record("no usage"); return }
        #expect(usage.promptTokens == TokenUsage.maxCount && usage.completionTokens == TokenUsage.maxCount)
    }

    @Test("numbers that add past Int64 in a delta do not trap")
    func deltaOverflow() throws {
        var acc = try #require(JSONValue.parse(#"{"n":9223372036854775807}"#).members)
        try DeltaAccumulator.accumulate(&acc, #require(JSONValue.parse(#"{"n":9223372036854775807}"#).members))
        #expect(JSONValue.object(acc)["n"]?.doubleValue ?? 0 > 1e18)
    }

    @Test(
        "a choice without an index, or with a negative one, makes the stream unstorable",
        arguments: [
            #"{"delta":{"content":"lost"}}"#, #"{"index":-5,"delta":{"content":"x"}}"#, #"{"index":"0","delta":{}}"#, #"[1]"#,
        ])
    func choiceWithoutIndex(choice: String) {
        let text = ChatChunk.event(#"{"index":0,"delta":{"content":"kept"}}"#) + ChatChunk.event(choice) + "data: [DONE]\n\n"
        #expect(Self.kept(Self.record(text)) == nil)
    }

    @Test("logprobs of every chunk are kept, in order")
    func logprobsAppend() throws {
        var text = ""
        for i in 0..<9 {
            let logprobs = #"{"content":[{"token":"t\#(i)","logprob":-0.\#(i),"bytes":[116],"top_logprobs":[]}],"refusal":null}"#
            text += ChatChunk.event(
                #"{"index":0,"delta":{"content":"t\#(i)"},"logprobs":\#(logprobs),"finish_reason":\#(i == 8 ? "\"stop\"" : "null")}"#)
        }
        text += "data: [DONE]\n\n"
        let answer = try #require(Self.kept(Self.record(text)))
        let choice = try #require(answer["choices"]?.arrayValue?.first)
        let tokens = try #require(choice["logprobs"]?["content"]?.arrayValue)
        #expect(tokens.map { $0["token"]?.stringValue } == (0..<9).map { "t\($0)" })
        #expect(choice["message"]?["content"]?.stringValue == "t0t1t2t3t4t5t6t7t8")
    }

    @Test("reasoning, refusal, audio and logprobs survive a stored answer served as a stream and read back")
    func synthesizedStreamIsFaithful() throws {
        let answer = try JSONValue.parse(
            #"""
            {"id":"c9","object":"chat.completion","created":5,"model":"o3","choices":[{"index":0,"message":{"role":"assistant","content":"Four.","reasoning_content":"Two plus two is four.","refusal":null,"audio":{"id":"au_1","data":"AAA=","transcript":"Four."},"annotations":[{"type":"url_citation","url_citation":{"url":"https://x"}}]},"logprobs":{"content":[{"token":"Four","logprob":-0.1,"bytes":[70],"top_logprobs":[]},{"token":".","logprob":-0.2,"bytes":[46],"top_logprobs":[]}],"refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}
            """#)
        let sse = OpenAIChunkSynthesizer.sse(OpenAIChunkSynthesizer.chunks(from: answer, includeUsage: true))
        let back = try #require(Self.kept(Self.record(String(decoding: sse, as: UTF8.self))))
        let original = try #require(answer["choices"]?.arrayValue?.first)
        let rebuilt = try #require(back["choices"]?.arrayValue?.first)
        for field in ["content", "reasoning_content", "audio", "annotations"] {
            #expect(rebuilt["message"]?[field] == original["message"]?[field], "\(field)")
        }
        #expect(rebuilt["logprobs"] == original["logprobs"])
        #expect(back["usage"] == answer["usage"])
    }

    @Test(
        "answers of the wrong shape are refused for storing",
        arguments: [
            (#"{"choices":[[["x"]]]}"#, AnswerShape.completion),
            (#"{"choices":[{"index":-5,"message":{}}]}"#, .completion),
            (#"{"choices":[{"index":0,"message":{}}],"usage":{"prompt_tokens":-1}}"#, .completion),
            (#"{"choices":[{"index":0}],"usage":{"prompt_tokens":1180591620717411303424}}"#, .completion),
            (#"{"choices":null}"#, .completion),
            (#"{"choices":[]}"#, .completion),
            (#"{"choices":[{"message":{}}]}"#, .completion),
            (#"<html>ok</html>"#, .completion),
            ("", .completion),
            (#"{"choices":[{"index":0}]"#, .completion),
            (#"{"data":[]}"#, .embedding),
            (#"{"type":"message"}"#, .message),
            (#"{"type":"error","error":{}}"#, .message),
        ])
    func wrongShapes(body: String, shape: AnswerShape) {
        let bytes = Array(body.utf8)
        #expect(bytes.withUnsafeBytes { shape.problem(in: $0) } != nil)
    }

    @Test("well-formed answers pass, a provider's cost in usage included")
    func rightShapes() {
        let cases: [(String, AnswerShape)] = [
            (
                #"{"choices":[{"index":0,"message":{"content":"hi"}}],"usage":{"prompt_tokens":1,"completion_tokens":2,"cost":0.0012,"prompt_tokens_details":{"cached_tokens":0}}}"#,
                .completion
            ),
            (#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]}]}"#, .embedding),
            (#"{"type":"message","content":[],"usage":{"input_tokens":1,"output_tokens":0}}"#, .message),
        ]
        for (body, shape) in cases {
            #expect(Array(body.utf8).withUnsafeBytes { shape.problem(in: $0) } == nil, "\(body)")
        }
    }

    @Test("invalid UTF-8 in an answer or an event is never kept")
    func invalidUTF8() {
        var bytes = Array(#"{"choices":[{"index":0,"message":{"content":""#.utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array(#""}}]}"#.utf8)
        #expect(bytes.withUnsafeBytes { AnswerShape.completion.problem(in: $0) } != nil)
        var recorder = StreamRecorder(limit: 1 << 20)
        var stream = Array(ChatChunk.event(#"{"index":0,"delta":{"content":"ok"}}"#).utf8)
        stream += Array(#"data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":""#.utf8) + [0xC3]
        stream += Array("\"}}]}\n\ndata: [DONE]\n\n".utf8)
        let events = recorder.feed(ByteBuffer(bytes: stream))
        #expect(events.count == 3)
        #expect(Self.kept(recorder.end()) == nil)
    }

    @Test("an SSE event longer than the limit passes through in pieces, bounded, and is not kept")
    func oversizedEvent() {
        var parser = SSEParser(maxEventBytes: 1000)
        var passed = 0
        var maxBuffered = 0
        let line = Array(("data: " + String(repeating: "x", count: 5000)).utf8)
        var i = 0
        while i < line.count {
            let events = parser.feed(line[i..<min(i + 97, line.count)])
            #expect(events.allSatisfy { $0.isOversized })
            passed += events.reduce(0) { $0 + $1.raw.count }
            maxBuffered = max(maxBuffered, parser.bufferedBytes)
            i += 97
        }
        let end = parser.feed(Array("\n\ndata: [DONE]\n\n".utf8))
        passed += end.filter(\.isOversized).reduce(0) { $0 + $1.raw.count }
        #expect(passed == line.count + 2)
        #expect(maxBuffered <= 1000 + 97)
        #expect(end.last?.isDone == true && end.last?.isOversized == false)

        var recorder = StreamRecorder(limit: 1000)
        _ = recorder.feed(ByteBuffer(bytes: line + Array("\n\n".utf8) + Array("data: [DONE]\n\n".utf8)))
        #expect(Self.kept(recorder.end()) == nil)
    }

    @Test("nesting 100,000 arrays deep is an error, not a stack overflow")
    func deepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(Array(deep.utf8).withUnsafeBytes { AnswerShape.completion.problem(in: $0) } != nil)
        #expect(Self.kept(Self.record("data: \(deep)\n\ndata: [DONE]\n\n")) == nil)
        let wrapped = #"{"model":"m","messages":"# + deep + "}"
        #expect(throws: InvalidRequest.self) { try RequestKeyer().key(route: "/v1/chat/completions", scope: "", body: Array(wrapped.utf8)) }
    }

    @Test(
        "Anthropic streams: out-of-range block indices and bad usage are not kept",
        arguments: [
            #"{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"x"}}"#,
            #"{"type":"content_block_start","index":99999999999999999999,"content_block":{"type":"text","text":""}}"#,
            #"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":-7}}"#,
        ])
    func anthropicHostile(event: String) {
        var text =
            #"event: message_start"# + "\n"
            + #"data: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"usage":{"input_tokens":1,"output_tokens":1}}}"#
            + "\n\n"
        text += "event: x\ndata: \(event)\n\n"
        text += "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        #expect(Self.kept(Self.record(text, format: .anthropic)) == nil)
    }
}

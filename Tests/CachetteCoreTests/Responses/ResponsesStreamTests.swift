import CachetteCore
import Foundation
import NIOCore
import Testing

/// What the openai SDKs' stream helpers do with Responses events (`ResponseStreamState`
/// in openai-python): start from `response.created`'s response, append each added item
/// and content part, append text and argument deltas, and take the completed response.
/// Reasoning summaries are appended the same way.
struct SDKResponseSnapshot {
    var snapshot: JSONValue?
    var completed: JSONValue?
    var sequence: [Int] = []

    mutating func handle(_ event: JSONValue) throws {
        sequence.append(try #require(event["sequence_number"]?.intValue))
        let type = try #require(event["type"]?.stringValue)
        guard var snapshot else {
            #expect(type == "response.created", "the SDK requires response.created first")
            self.snapshot = try #require(event["response"])
            return
        }
        var output = snapshot["output"]?.arrayValue ?? []
        let index = event["output_index"]?.intValue ?? -1
        switch type {
        case "response.output_item.added":
            output.append(try #require(event["item"]))
        case "response.content_part.added":
            var content = output[index]["content"]?.arrayValue ?? []
            content.append(try #require(event["part"]))
            output[index].set("content", .array(content))
        case "response.output_text.delta", "response.refusal.delta":
            let key = type == "response.output_text.delta" ? "text" : "refusal"
            var content = try #require(output[index]["content"]?.arrayValue)
            let at = try #require(event["content_index"]?.intValue)
            content[at].set(key, .string((content[at][key]?.stringValue ?? "") + (event["delta"]?.stringValue ?? "")))
            output[index].set("content", .array(content))
        case "response.function_call_arguments.delta":
            output[index].set("arguments", .string((output[index]["arguments"]?.stringValue ?? "") + (event["delta"]?.stringValue ?? "")))
        case "response.reasoning_summary_part.added":
            var summary = output[index]["summary"]?.arrayValue ?? []
            summary.append(try #require(event["part"]))
            output[index].set("summary", .array(summary))
        case "response.reasoning_summary_text.delta":
            var summary = try #require(output[index]["summary"]?.arrayValue)
            let at = try #require(event["summary_index"]?.intValue)
            summary[at].set("text", .string((summary[at]["text"]?.stringValue ?? "") + (event["delta"]?.stringValue ?? "")))
            output[index].set("summary", .array(summary))
        case "response.completed":
            completed = event["response"]
        default:
            break
        }
        snapshot.set("output", .array(output))
        self.snapshot = snapshot
    }

    /// Each item's text as the deltas built it, for comparing with the completed response.
    static func texts(_ output: [JSONValue]) -> [String] {
        output.map { item in
            let parts = (item["content"]?.arrayValue ?? []).map { $0["text"]?.stringValue ?? $0["refusal"]?.stringValue ?? "" }
            let summary = (item["summary"]?.arrayValue ?? []).map { $0["text"]?.stringValue ?? "" }
            return (parts + summary + [item["arguments"]?.stringValue ?? ""]).joined(separator: "|")
        }
    }
}

@Suite("Responses streams: recorded, assembled, synthesized")
struct ResponsesStreamTests {
    static func fixture(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "responses"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func record(_ sse: String, limit: Int = 1 << 20) -> StreamRecorder { recorder(sse, limit: limit, dialect: ResponsesDialect.self).0 }

    static func data(_ events: [ByteBuffer]) throws -> [JSONValue] {
        var parser = SSEParser()
        return try events.flatMap { parser.feed($0.readableBytesView) }.map { try JSONValue.parse($0.data) }
    }

    @Test("a stream that ends with response.completed is kept byte for byte; its answer is the completed response", arguments: ["text", "function"])
    func recorded(name: String) throws {
        let sse = try Self.fixture("\(name).responses.sse")
        guard case .complete(let recording?, let answer?, let usage) = Self.record(sse).end() else {
            Issue.record("a whole stream must complete")
            return
        }
        #expect(String(buffer: recording.replay(includeUsage: false)) == sse, "replayed as it came, every event")
        #expect(recording.count == sse.components(separatedBy: "\n\n").count - 1, "the same event boundaries")
        #expect(answer == (try JSONValue.parse(Self.fixture("\(name).responses.json"))))
        let expected =
            name == "text"
            ? TokenUsage(promptTokens: 25, completionTokens: 84) : TokenUsage(promptTokens: 70, completionTokens: 23, cachedPromptTokens: 64)
        #expect(usage == expected, "usage from response.completed: input with cached tokens, output with reasoning tokens")
    }

    @Test(
        "a stream that ends failed, incomplete, with an error event, or cut short is relayed but never kept",
        arguments: [
            (
                "response.failed",
                #"{"type":"response.failed","sequence_number":9,"response":{"id":"r","object":"response","status":"failed","error":{"code":"server_error","message":"boom"},"output":[]}}"#,
                "boom"
            ),
            (
                "response.incomplete",
                #"{"type":"response.incomplete","sequence_number":9,"response":{"id":"r","object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[]}}"#,
                "max_output_tokens"
            ),
            ("error", #"{"type":"error","sequence_number":9,"code":"rate_limit_exceeded","message":"slow down","param":null}"#, "slow down"),
            ("", "", "response.completed"),
        ])
    func notKept(end: String, data: String, reason: String) throws {
        let sse = try Self.fixture("text.responses.sse")
        let cut = sse.components(separatedBy: "event: response.completed")[0]
        let ending = end.isEmpty ? "" : "event: \(end)\ndata: \(data)\n\n"
        var recorder = StreamRecorder(limit: 1 << 20, dialect: ResponsesDialect.self)
        let relayed = recorder.feed(ByteBuffer(string: cut + ending))
        #expect(relayed.count == cut.components(separatedBy: "\n\n").count - 1 + (end.isEmpty ? 0 : 1), "every event is relayed")
        guard case .failed(let why) = recorder.end() else {
            Issue.record("\(end) must not complete")
            return
        }
        #expect(why.contains(reason), "\(why)")
        #expect(recorder.sentErrorEvent == !end.isEmpty, "the upstream's own ending tells the client; a cut stream needs an error event")
    }

    @Test("a completed response whose status is not completed, or with malformed usage, is not kept")
    func completedButNotWhole() throws {
        let sse = try Self.fixture("function.responses.sse")
        for broken in [
            sse.replacingOccurrences(of: #""status":"completed","background""#, with: #""status":"in_progress","background""#),
            sse.replacingOccurrences(of: #""output_tokens":23"#, with: #""output_tokens":-23"#),
        ] {
            guard case .complete(nil, nil, _) = Self.record(broken).end() else {
                Issue.record("an in-progress or malformed completed response must not be kept")
                continue
            }
        }
    }

    @Test("a stored response streams as events the SDK assembles back into it, numbered without a gap", arguments: ["text", "function"])
    func synthesized(name: String) throws {
        let response = try JSONValue.parse(Self.fixture("\(name).responses.json"))
        let events = try #require(ResponsesDialect.events(answering: response, includeUsage: false))
        var sdk = SDKResponseSnapshot()
        for event in try Self.data(events) { try sdk.handle(event) }
        #expect(sdk.sequence == Array(0..<events.count))
        #expect(sdk.completed == response)
        let built = try #require(sdk.snapshot?["output"]?.arrayValue)
        #expect(SDKResponseSnapshot.texts(built) == SDKResponseSnapshot.texts(response["output"]?.arrayValue ?? []))
        // And the recorder keeps the synthesized stream as it would the upstream's.
        var recorder = StreamRecorder(limit: 1 << 20, dialect: ResponsesDialect.self)
        for event in events { _ = recorder.feed(event) }
        guard case .complete(_, let back?, _) = recorder.end() else {
            Issue.record("a synthesized stream must complete")
            return
        }
        #expect(back == response)
    }

    @Test("the synthesized events of a stored response match the golden file")
    func golden() throws {
        let response = try JSONValue.parse(Self.fixture("text.responses.json"))
        let events = try #require(ResponsesDialect.events(answering: response, includeUsage: false))
        #expect(events.map { String(buffer: $0) }.joined() == (try Self.fixture("text.synthesized.sse")))
    }

    @Test("an upstream stream's events match what the synthesizer makes of its answer, event for event")
    func sameEventsAsUpstream() throws {
        // The fixtures follow OpenAI's event order; the synthesizer must too (deltas aside).
        for name in ["text", "function"] {
            let upstream = try Self.data([ByteBuffer(string: Self.fixture("\(name).responses.sse"))]).map { $0["type"]?.stringValue }
            let made = try Self.data(
                ResponsesDialect.events(answering: JSONValue.parse(Self.fixture("\(name).responses.json")), includeUsage: false)!
            )
            .map { $0["type"]?.stringValue }
            let deltas: Set<String?> = [
                "response.output_text.delta", "response.reasoning_summary_text.delta", "response.function_call_arguments.delta",
            ]
            #expect(upstream.filter { !deltas.contains($0) } == made.filter { !deltas.contains($0) }, "\(name)")
        }
    }

    @Test("refusals stream as refusal deltas; other items arrive whole")
    func refusalAndOtherItems() throws {
        let response = try JSONValue.parse(
            #"{"id":"r1","object":"response","status":"completed","output":[{"id":"ws_1","type":"web_search_call","status":"completed","action":{"type":"search","query":"q"}},{"id":"m1","type":"message","status":"completed","role":"assistant","content":[{"type":"refusal","refusal":"I can't help with that."}]}]}"#
        )
        let events = try Self.data(try #require(ResponsesDialect.events(answering: response, includeUsage: false)))
        let types = events.compactMap { $0["type"]?.stringValue }
        #expect(types.contains("response.refusal.delta") && types.contains("response.refusal.done"))
        #expect(
            events.first { $0["type"]?.stringValue == "response.output_item.added" }?["item"]?["action"] != nil, "a web search call arrives whole")
        var sdk = SDKResponseSnapshot()
        for event in events { try sdk.handle(event) }
        #expect(SDKResponseSnapshot.texts(sdk.snapshot?["output"]?.arrayValue ?? []) == SDKResponseSnapshot.texts(response["output"]!.arrayValue!))
    }

    @Test("the sidecar's own error event reads as Responses' error and as an OpenAI error")
    func errorEvent() throws {
        let event = ResponsesDialect.errorEvent(message: "cut", type: "upstream_error", code: "upstream_stream_failed", param: nil)
        var parser = SSEParser()
        let parsed = try #require(parser.feed(event.readableBytesView).first)
        #expect(parsed.name == "error")
        let data = try JSONValue.parse(parsed.data)
        #expect(
            data["type"]?.stringValue == "error" && data["message"]?.stringValue == "cut" && data["code"]?.stringValue == "upstream_stream_failed")
        #expect(data["error"]?["message"]?.stringValue == "cut", "the openai SDKs raise an event with an error object")
    }

    @Test("only a completed response is a storable answer")
    func shape() throws {
        let whole = try Self.fixture("text.responses.json")
        #expect(AnswerShape.response.problem(in: try JSONValue.parse(whole)) == nil)
        for status in ["queued", "in_progress", "incomplete", "failed", "cancelled"] {
            let other = whole.replacingOccurrences(of: #""status":"completed","background""#, with: #""status":"\#(status)","background""#)
            #expect(AnswerShape.response.problem(in: try JSONValue.parse(other))?.contains(status) == true, "\(status)")
        }
        #expect(AnswerShape.response.problem(in: try JSONValue.parse(#"{"object":"response","status":"completed"}"#)) != nil)
        #expect(AnswerShape.response.problem(in: try JSONValue.parse(#"{"object":"chat.completion","status":"completed","output":[]}"#)) != nil)
        #expect(AnswerShape(path: "/v1/responses") == .response)
    }

    @Test("Responses usage: input includes cached tokens, output includes reasoning tokens; Anthropic's stays its own")
    func usage() throws {
        let responses = try JSONValue.parse(
            #"{"input_tokens":100,"input_tokens_details":{"cached_tokens":80},"output_tokens":50,"output_tokens_details":{"reasoning_tokens":30},"total_tokens":150}"#
        )
        #expect(TokenUsage(usage: responses) == TokenUsage(promptTokens: 100, completionTokens: 50, cachedPromptTokens: 80))
        let anthropic = try JSONValue.parse(
            #"{"input_tokens":10,"cache_read_input_tokens":1000,"cache_creation_input_tokens":100,"output_tokens":7}"#)
        #expect(
            TokenUsage(usage: anthropic) == TokenUsage(promptTokens: 1110, completionTokens: 7, cachedPromptTokens: 1000, cacheWritePromptTokens: 100)
        )
        let lying = try JSONValue.parse(#"{"input_tokens":5,"input_tokens_details":{"cached_tokens":80},"output_tokens":1}"#)
        #expect(TokenUsage(usage: lying)?.cachedPromptTokens == 5, "never more cached than input")
    }

    @Test("without usage, the tokenizer counts instructions and input against the output's text")
    func counted() throws {
        let request = try JSONValue.parse(
            #"{"model":"gpt-4o","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"Hello there"}]},{"type":"function_call_output","call_id":"c","output":"{\"t\":21}"}]}"#
        )
        let answer = try JSONValue.parse(Self.fixture("function.responses.json"))
        let usage = try #require(UsageCounter.count(request: request, answer: answer, model: "gpt-4o"))
        let count = { (text: String) in try TokenCounter.count(text: text, model: "gpt-4o").tokens }
        #expect(usage.promptTokens == (try count("Be brief.") + count("Hello there") + count(#"{"t":21}"#)))
        #expect(usage.completionTokens == (try count(#"{"location":"Paris, France","unit":"celsius"}"#)))
        let plain = try JSONValue.parse(#"{"model":"gpt-4o","input":"Hello there"}"#)
        #expect(UsageCounter.count(request: plain, answer: answer, model: "gpt-4o")?.promptTokens == (try count("Hello there")))
    }
}

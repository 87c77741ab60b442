@testable import CachetteCore
import Foundation
import NIOCore
import Testing

@Suite("SSE parsing")
struct SSEParserTests {
    static let stream = "data: {\"a\":1}\n\n: keep-alive\n\nevent: ping\ndata: x\n\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n"

    /// Feeds `text` in pieces of `n` bytes. What stays buffered at the end may only be
    /// the LF of a final CRLF split from its CR, which would lead a next event.
    func events(_ text: String, splitEvery n: Int) -> [SSEEvent] {
        var parser = SSEParser()
        let bytes = Array(text.utf8)
        var out: [SSEEvent] = []
        var i = 0
        while i < bytes.count {
            out += parser.feed(bytes[i..<min(i + n, bytes.count)])
            i += n
        }
        #expect(parser.bufferedBytes == 0 || (parser.bufferedBytes == 1 && text.hasSuffix("\r\n")))
        return out
    }

    @Test("the same events however the bytes are split", arguments: [1, 2, 3, 7, 1000])
    func splits(n: Int) {
        let all = events(Self.stream, splitEvery: n)
        #expect(all.map(\.isComment) == [false, true, false, false, false])
        let got = all.filter { !$0.isComment }
        #expect(got.map(\.data) == [#"{"a":1}"#, "x", "line one\nline two", "[DONE]"])
        #expect(got[1].name == "ping")
        #expect(got.last?.isDone == true)
        // Raw bytes, the keep-alive's included, give back the original stream exactly.
        #expect(String(decoding: all.flatMap(\.raw), as: UTF8.self) == Self.stream)
    }

    @Test("CRLF and CR line endings", arguments: ["\r\n", "\r"])
    func lineEndings(eol: String) {
        let text = "data: one\(eol)\(eol)data:two\(eol)\(eol)"
        for n in [1, 2, 100] {
            #expect(events(text, splitEvery: n).map(\.data) == ["one", "two"])
        }
    }

    @Test("an event is not complete before its blank line")
    func incomplete() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data: a\nd".utf8)).isEmpty)
        #expect(parser.feed(Array("ata: b\n".utf8)).isEmpty)
        #expect(parser.feed(Array("\n".utf8)).map(\.data) == ["a\nb"])
    }
}

@Suite("Stream accumulation (OpenAI SDK rules)")
struct StreamAccumulatorTests {
    static func chunk(_ choice: String) -> JSONValue { try! JSONValue.parse(ChatChunk.json(choice, id: "c1", created: 7)) }

    @Test("content, tool-call arguments, finish_reason and usage assemble into a chat.completion")
    func chat() throws {
        var acc = OpenAIStreamAccumulator()
        let chunks = [
            Self.chunk(#"{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}"#),
            Self.chunk(#"{"index":0,"delta":{"content":"Hel"},"finish_reason":null}"#),
            Self.chunk(#"{"index":0,"delta":{"content":"lo"},"finish_reason":null}"#),
            Self.chunk(#"{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":""}}]}}"#),
            Self.chunk(#"{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}}"#),
            Self.chunk(
                #"{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"put","arguments":"{}"}}]}}"#),
            Self.chunk(#"{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":1}"}}]}}"#),
            Self.chunk(#"{"index":0,"delta":{},"finish_reason":"tool_calls"}"#),
            try JSONValue.parse(
                #"{"id":"c1","object":"chat.completion.chunk","created":7,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}"#
            ),
        ]
        for c in chunks { try acc.add(c) }
        let result = acc.result
        #expect(result["object"]?.stringValue == "chat.completion")
        #expect(result["id"]?.stringValue == "c1" && result["model"]?.stringValue == "gpt-4o")
        let choice = try #require(result["choices"]?.arrayValue?.first)
        #expect(choice["finish_reason"]?.stringValue == "tool_calls")
        let message = try #require(choice["message"])
        #expect(message["role"]?.stringValue == "assistant")
        #expect(message["content"]?.stringValue == "Hello")
        let calls = try #require(message["tool_calls"]?.arrayValue)
        #expect(calls.count == 2)
        #expect(calls[0]["id"]?.stringValue == "call_1")
        #expect(calls[0]["type"]?.stringValue == "function")
        #expect(calls[0]["function"]?["name"]?.stringValue == "get")
        #expect(calls[0]["function"]?["arguments"]?.stringValue == #"{"city":1}"#)
        #expect(calls[1]["function"]?["name"]?.stringValue == "put")
        #expect(result["usage"]?["total_tokens"]?.intValue == 13)
    }

    @Test("several choices accumulate apart, one with no content reading null")
    func multipleChoices() throws {
        var acc = OpenAIStreamAccumulator()
        try acc.add(Self.chunk(#"{"index":1,"delta":{"content":"b"}},{"index":0,"delta":{"content":"a"}}"#))
        try acc.add(Self.chunk(#"{"index":0,"delta":{"content":"A"},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"length"}"#))
        try acc.add(Self.chunk(#"{"index":2,"delta":{"role":"assistant"},"finish_reason":"stop"}"#))
        let choices = try #require(acc.result["choices"]?.arrayValue)
        #expect(choices.map { $0["message"]?["content"]?.stringValue } == ["aA", "b", nil])
        #expect(choices[2]["message"]?["content"] == .null)
        #expect(choices.map { $0["finish_reason"]?.stringValue } == ["stop", "length", "stop"])
    }

    @Test("text completions accumulate text")
    func textCompletion() throws {
        var acc = OpenAIStreamAccumulator()
        for piece in ["Once", " upon", " a time"] {
            try acc.add(
                JSONValue.parse(
                    #"{"id":"t","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"\#(piece)","logprobs":null,"finish_reason":null}]}"#
                ))
        }
        try acc.add(
            JSONValue.parse(
                #"{"id":"t","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"","finish_reason":"stop"}]}"#))
        let result = acc.result
        #expect(result["object"]?.stringValue == "text_completion")
        #expect(result["choices"]?.arrayValue?.first?["text"]?.stringValue == "Once upon a time")
        #expect(result["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue == "stop")
    }

    @Test("the SDK's merge rules: index and type replace, numbers add, scalar lists extend, object lists need an index")
    func mergeRules() throws {
        var acc = try #require(JSONValue.parse(#"{"type":"a","index":0,"n":1,"s":"x","tags":["p"],"none":null}"#).members)
        try DeltaAccumulator.accumulate(
            &acc, #require(JSONValue.parse(#"{"type":"b","index":3,"n":2,"s":"y","tags":["q"],"none":"now","new":true}"#).members))
        let merged = JSONValue.object(acc)
        #expect(merged.jsonString == #"{"type":"b","index":3,"n":3,"s":"xy","tags":["p","q"],"none":"now","new":true}"#)
        var list = try #require(JSONValue.parse(#"{"l":[{"index":0,"v":"a"}]}"#).members)
        #expect(throws: DeltaAccumulator.Failure.listEntryWithoutIndex) {
            try DeltaAccumulator.accumulate(&list, #require(JSONValue.parse(#"{"l":[{"v":"b"}]}"#).members))
        }
    }

    @Test(
        "a list's first delta is held to the index rule too: a tool call at index -1 or past the limit is refused, annotations without one are kept",
        arguments: [
            (#"{"tool_calls":[{"index":-1,"id":"c","function":{"name":"f","arguments":""}}]}"#, true),
            (#"{"tool_calls":[{"index":1.5,"id":"c"}]}"#, true),
            (#"{"tool_calls":[{"index":99999,"id":"c"}]}"#, true),
            (#"{"audio":{"parts":[{"index":-3}]}}"#, true),
            (#"{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":""}}]}"#, false),
            (#"{"annotations":[{"type":"url_citation","url_citation":{"url":"https://example.com"}}]}"#, false),
        ])
    func firstListDelta(delta: String, refused: Bool) throws {
        var message: [JSONValue.Member] = []
        let members = try #require(JSONValue.parse(Array(delta.utf8)).members)
        if refused {
            #expect(throws: DeltaAccumulator.Failure.self) { try DeltaAccumulator.accumulate(&message, members) }
        } else {
            try DeltaAccumulator.accumulate(&message, members)
            #expect(JSONValue.object(message) == JSONValue.object(members))
        }
        // The same list arriving where the accumulated value was null.
        var nulled: [JSONValue.Member] = members.map { .init($0.key, .null) }
        if refused {
            #expect(throws: DeltaAccumulator.Failure.self) { try DeltaAccumulator.accumulate(&nulled, members) }
        }
    }

    @Test("a stream whose first tool-call delta has index -1 is relayed but never kept")
    func negativeToolIndexNotKept() {
        let chunk = { (delta: String, finish: String) in
            #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish)}]}"#
                + "\n\n"
        }
        var recorder = StreamRecorder(limit: 1 << 20)
        let events = recorder.feed(
            ByteBuffer(
                string: chunk(
                    #"{"role":"assistant","tool_calls":[{"index":-1,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}"#,
                    "null")
                    + chunk("{}", #""tool_calls""#) + "data: [DONE]\n\n"))
        #expect(events.count == 3, "every event is relayed")
        guard case .complete(let recording, let answer, _) = recorder.end() else {
            Issue.record("the stream ended cleanly")
            return
        }
        #expect(recording == nil && answer == nil, "nothing to store")
    }

    @Test("replay equality: an SSE stream parsed and accumulated equals the answer it was cut from")
    func replayEquality() throws {
        let pieces = ["The ", "cache ", "hit ", "is ", "the ", "product."]
        var text = ""
        for (i, piece) in pieces.enumerated() {
            let delta = i == 0 ? #"{"role":"assistant","content":"\#(piece)"}"# : #"{"content":"\#(piece)"}"#
            text += "data: " + Self.chunk(#"{"index":0,"delta":\#(delta),"finish_reason":null}"#).jsonString + "\n\n"
        }
        text += "data: " + Self.chunk(#"{"index":0,"delta":{},"finish_reason":"stop"}"#).jsonString + "\n\ndata: [DONE]\n\n"
        var parser = SSEParser()
        var acc = OpenAIStreamAccumulator()
        for event in parser.feed(Array(text.utf8)) where !event.isDone {
            try acc.add(JSONValue.parse(event.data))
        }
        let message = acc.result["choices"]?.arrayValue?.first?["message"]
        #expect(message?["content"]?.stringValue == pieces.joined())
        #expect(acc.chunkCount == pieces.count + 1)
    }
}

@Suite("Synthesised streams")
struct ChunkSynthesizerTests {
    static func randomText(_ rng: inout SplitMix64, max: Int = 300) -> String {
        let alphabet = Array("abc XYZ 019,.\n\"\\{}é日本😀🇫🇷")
        return String((0..<Int.random(in: 0...max, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    static func answer(_ rng: inout SplitMix64) -> JSONValue {
        let choices: [JSONValue] = (0..<Int.random(in: 1...3, using: &rng)).map { index in
            var message: [JSONValue.Member] = [.init("role", .string("assistant")), .init("content", .string(randomText(&rng)))]
            let calls = Int.random(in: 0...2, using: &rng)
            if calls > 0 {
                message.append(
                    .init(
                        "tool_calls",
                        .array(
                            (0..<calls).map { n in
                                .object([
                                    "id": .string("call_\(index)_\(n)"), "type": .string("function"),
                                    "function": .object([
                                        "name": .string("fn\(n)"),
                                        "arguments": .string(#"{"q":"# + JSONValue.string(randomText(&rng, max: 120)).jsonString + "}"),
                                    ]),
                                ])
                            })))
            }
            return .object([
                "index": .int(index), "message": .object(message), "logprobs": .null,
                "finish_reason": .string(calls > 0 ? "tool_calls" : ["stop", "length"].randomElement(using: &rng)!),
            ])
        }
        return .object([
            "id": .string("chatcmpl-x"), "object": .string("chat.completion"), "created": .int(1_700_000_000), "model": .string("gpt-4o"),
            "choices": .array(choices),
            "usage": .object(["prompt_tokens": .int(12), "completion_tokens": .int(34), "total_tokens": .int(46)]),
        ])
    }

    /// What a client keeps of an answer: per choice, content, tool calls and finish reason; and usage.
    static func essence(_ answer: JSONValue) -> JSONValue {
        let choices = (answer["choices"]?.arrayValue ?? []).map { choice -> JSONValue in
            let message = choice["message"] ?? .null
            let calls = (message["tool_calls"]?.arrayValue ?? []).map { call -> JSONValue in
                .object([
                    "id": call["id"] ?? .null, "type": call["type"] ?? .null,
                    "name": call["function"]?["name"] ?? .null, "arguments": call["function"]?["arguments"] ?? .null,
                ])
            }
            let content = message["content"]?.stringValue ?? ""
            return .object(["content": .string(content), "calls": .array(calls), "finish": choice["finish_reason"] ?? .null])
        }
        return .object(["choices": .array(choices), "usage": answer["usage"] ?? .null])
    }

    @Test("property: synthesise, write as SSE, parse, accumulate: the answer comes back")
    func roundTrip() throws {
        var rng = SplitMix64(state: 0x5EED)
        for _ in 0..<200 {
            let original = Self.answer(&rng)
            let bytes = OpenAIChunkSynthesizer.sse(OpenAIChunkSynthesizer.chunks(from: original, includeUsage: true))
            var parser = SSEParser()
            var acc = OpenAIStreamAccumulator()
            let events = parser.feed(bytes)
            #expect(events.last?.isDone == true)
            for event in events where !event.isDone { try acc.add(JSONValue.parse(event.data)) }
            #expect(Self.essence(acc.result) == Self.essence(original))
            #expect(acc.result["id"] == original["id"] && acc.result["model"] == original["model"])
        }
    }

    @Test("the sequence opens with the role, closes with finish_reason, and carries usage only when asked")
    func shape() throws {
        var rng = SplitMix64(state: 42)
        let original = Self.answer(&rng)
        let without = OpenAIChunkSynthesizer.chunks(from: original, includeUsage: false)
        let with = OpenAIChunkSynthesizer.chunks(from: original, includeUsage: true)
        #expect(with.count == without.count + 1)
        #expect(without.allSatisfy { $0["usage"] == nil && $0["object"]?.stringValue == "chat.completion.chunk" })
        #expect(with.last?["choices"]?.arrayValue?.isEmpty == true && with.last?["usage"] != nil)
        #expect(without.first?["choices"]?.arrayValue?.first?["delta"]?["role"]?.stringValue == "assistant")
        #expect(without.last?["choices"]?.arrayValue?.first?["finish_reason"] != .null)
    }

    @Test("text completions synthesise text pieces")
    func textCompletion() throws {
        let original = try JSONValue.parse(
            #"{"id":"t","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"Once upon a time there was a cache that answered every question twice as fast.","logprobs":null,"finish_reason":"stop"}]}"#
        )
        var acc = OpenAIStreamAccumulator()
        for chunk in OpenAIChunkSynthesizer.chunks(from: original, includeUsage: false) { try acc.add(chunk) }
        #expect(acc.result["choices"]?.arrayValue?.first?["text"] == original["choices"]?.arrayValue?.first?["text"])
        #expect(acc.result["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue == "stop")
        #expect(acc.chunkCount > 2)
    }
}

@testable import CachetteCore
import Foundation
import NIOCore
import Testing

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

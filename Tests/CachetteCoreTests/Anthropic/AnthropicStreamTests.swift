import CachetteCore
import NIOCore
import Testing

@Suite("Anthropic message streams: recorded, assembled, synthesized")
struct AnthropicStreamTests {
    static func record(_ sse: String, limit: Int = 1 << 20) -> (StreamRecorder, [StreamRecorder.Event]) {
        recorder(sse, limit: limit, format: .anthropic)
    }

    @Test("a stream ending in message_stop is kept as the message the SDK assembles, its pings relayed but not recorded")
    func assembled() throws {
        let sse = try TranslationTests.fixture("stream-tools.anthropic.sse")
        let (recorder, relayed) = Self.record(sse)
        #expect(relayed.count == 17, "every event is relayed, the ping included")
        guard case .complete(let recording?, let message?, let usage) = recorder.end() else {
            Issue.record("a whole stream must complete")
            return
        }
        #expect(recording.count == 16, "the ping is not recorded")
        #expect(
            String(buffer: recording.replay(includeUsage: false))
                == sse.replacingOccurrences(of: "event: ping\ndata: {\"type\": \"ping\"}\n\n", with: ""))
        let expected = try JSONValue.parse(
            """
            {"id":"msg_01S","type":"message","role":"assistant","content":[
              {"type":"thinking","thinking":"Paris, so get_weather.","signature":"c2ln"},
              {"type":"text","text":"Checking now ✓"},
              {"type":"tool_use","id":"toolu_9","name":"get_weather","input":{"city":"Paris"}}],
             "model":"claude-sonnet-4-6","stop_reason":"tool_use","stop_sequence":null,
             "usage":{"input_tokens":25,"cache_read_input_tokens":100,"output_tokens":38}}
            """)
        #expect(try TranslationTests.canonical(message) == TranslationTests.canonical(expected))
        #expect(usage == TokenUsage(promptTokens: 125, completionTokens: 38, cachedPromptTokens: 100))
    }

    @Test(
        "synthesized from a stored message, the events assemble back into that message", arguments: ["stream-tools", "answer-tools", "answer-length"])
    func synthesized(name: String) throws {
        let message: JSONValue
        if name.hasPrefix("stream") {
            guard case .complete(_, let assembled?, _) = Self.record(try TranslationTests.fixture("\(name).anthropic.sse")).0.end() else {
                Issue.record("fixture stream did not complete")
                return
            }
            message = assembled
        } else {
            message = try JSONValue.parse(TranslationTests.fixture("\(name).anthropic.json"))
        }
        let events = AnthropicEventSynthesizer.events(from: message)
        #expect(String(buffer: events[0]).hasPrefix("event: message_start\n"))
        #expect(String(buffer: events.last!) == "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
        var recorder = StreamRecorder(limit: 1 << 20, format: .anthropic)
        for event in events { _ = recorder.feed(event) }
        guard case .complete(_, let back?, _) = recorder.end() else {
            Issue.record("a synthesized stream must complete")
            return
        }
        #expect(try TranslationTests.canonical(back) == TranslationTests.canonical(message))
    }

    @Test("an error event, a stream cut before message_stop, or tool input that is not JSON: nothing is kept")
    func failures() throws {
        let sse = try TranslationTests.fixture("stream-tools.anthropic.sse")
        let cut = sse.components(separatedBy: "event: message_stop")[0]
        guard case .failed(let reason) = Self.record(cut).0.end() else {
            Issue.record("a cut stream must fail")
            return
        }
        #expect(reason.contains("message_stop"))

        let errored = cut + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
        let (recorder, _) = Self.record(errored)
        #expect(recorder.sentErrorEvent)
        guard case .failed(let why) = recorder.end() else {
            Issue.record("an errored stream must fail")
            return
        }
        #expect(why.contains("Overloaded"))

        let badJSON = sse.replacingOccurrences(of: #"ris\"}"#, with: #"ris"#)
        guard case .complete(nil, nil, _) = Self.record(badJSON).0.end() else {
            Issue.record("a stream whose tool input does not parse is relayed but not kept")
            return
        }
        guard case .complete(nil, nil, _) = Self.record(sse, limit: 100).0.end() else {
            Issue.record("a stream over the limit is relayed but not kept")
            return
        }
    }
}

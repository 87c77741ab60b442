@testable import CachetteCore
import Foundation
import NIOCore
import Testing

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

@testable import CachetteCore
import Testing

/// A generated chat conversation as the Responses request a client would send for it:
/// the system message as `instructions`, user and assistant text as message items
/// (`input_text`, `output_text`), tool calls and results as function-call items.
private func responsesRequest(_ messages: [JSONValue]) -> JSONValue {
    var instructions: JSONValue?
    var items: [JSONValue] = []
    for message in messages {
        let role = message["role"]?.stringValue ?? ""
        func parts(_ type: String) -> JSONValue {
            switch message["content"] {
            case .string(let text)?: return .array([.object(["type": .string(type), "text": .string(text)])])
            case .array(let list)?:
                return .array(
                    list.map { part in
                        guard let text = part["text"] else {
                            return .object(["type": .string("input_image"), "image_url": .string("https://example.com/a.png")])
                        }
                        return .object(["type": .string(type), "text": text])
                    })
            default: return .array([])
            }
        }
        switch role {
        case "system": instructions = message["content"]
        case "tool":
            items.append(.object(["type": .string("function_call_output"), "call_id": .string("call_1"), "output": message["content"] ?? .null]))
        case "assistant" where message["tool_calls"] != nil:
            items.append(
                .object([
                    "type": .string("function_call"), "call_id": .string("call_1"), "name": .string("lookup"),
                    "arguments": .string("{\n  \"q\":  \"x\"\n}"),
                ]))
        case "assistant": items.append(.object(["type": .string("message"), "role": .string("assistant"), "content": parts("output_text")]))
        default: items.append(.object(["role": .string(role), "content": parts("input_text")]))
        }
    }
    var members: [JSONValue.Member] = [.init("model", .string("gpt-5-mini"))]
    if let instructions { members.append(.init("instructions", instructions)) }
    members.append(.init("input", .array(items)))
    return .object(members)
}

@Suite("Compression of Responses input")
struct ResponsesCompressionTests {
    @Test("deterministic, prefix-stable, never grows; instructions and non-text items untouched", arguments: Array(UInt64(1)...40))
    func invariants(seed: UInt64) throws {
        var generator = ConversationGenerator(rng: SplitMix64(state: seed))
        let request = responsesRequest(generator.conversation())
        let c = PromptCompressor(options: CompressionOptions(level: .safe), tokenizer: tokenizer)
        var out = request
        let report = try #require(c.compress(responsesRequest: &out))
        var again = request
        _ = c.compress(responsesRequest: &again)
        #expect(again == out, "deterministic")
        #expect(out["instructions"] == request["instructions"], "instructions untouched without compression.system")
        let before = try #require(request["input"]?.arrayValue), after = try #require(out["input"]?.arrayValue)
        #expect(before.count == after.count)
        for k in 1...before.count {
            var prefix = request
            prefix.set("input", .array(Array(before.prefix(k))))
            _ = c.compress(responsesRequest: &prefix)
            #expect(prefix["input"]?.arrayValue.map { Array($0) } == Array(after.prefix(k)), "prefix \(k)")
        }
        let parts = report.parts.filter { $0.label != "instructions" }
        for (i, (b, a)) in zip(before, after).enumerated() {
            #expect(parts[i].after <= parts[i].before, "never grows")
            if b["type"]?.stringValue != "function_call" {
                #expect(ResponseItems.texts(ofItem: a).reduce(0) { $0 + tokenizer.count($1) } == parts[i].after, "the report is exact")
            }
            switch b["type"]?.stringValue {
            case "function_call": #expect(a == b, "a call's arguments are structure")
            case "function_call_output": #expect(a.members?.filter { $0.key != "output" } == b.members?.filter { $0.key != "output" })
            default:
                #expect(a.members?.filter { $0.key != "content" } == b.members?.filter { $0.key != "content" })
                for (pa, pb) in zip(a["content"]?.arrayValue ?? [], b["content"]?.arrayValue ?? []) where pb["type"]?.stringValue == "input_image" {
                    #expect(pa == pb)
                }
            }
        }
    }

    @Test("a document pasted again, in a message or a function's output, becomes a reference numbered as the model sees it")
    func repeatedDocument() throws {
        let document = (1...40).map { "Clause \($0) of the agreement applies." }.joined(separator: " ")
        let request = try JSONValue.parse(
            """
            {"model":"gpt-5-mini","instructions":"Be   brief.\\n\\n\\n\\nPlease.","input":[
             {"role":"user","content":[{"type":"input_text","text":"\(document)"}]},
             {"type":"function_call","call_id":"c1","name":"fetch","arguments":"{}"},
             {"type":"function_call_output","call_id":"c1","output":"\(document)"},
             {"role":"user","content":"Summarise:   again.\\n\\n\\n\\n\(document)"}]}
            """)
        let c = PromptCompressor(options: CompressionOptions(level: .safe), tokenizer: tokenizer)
        var out = request
        let report = try #require(c.compress(responsesRequest: &out))
        let input = try #require(out["input"]?.arrayValue)
        #expect(out["instructions"] == request["instructions"])
        #expect(input[0] == request["input"]!.arrayValue![0], "the first copy stays")
        #expect(input[2]["output"] == .string("[Same text as in message 2 above.]"), "instructions are message 1, as the model reads them")
        #expect(input[3]["content"] == .string("Summarise: again.\n\n[Same text as in message 2 above.]"))
        #expect(report.parts.map(\.label) == ["instructions", "1 user", "2 function_call", "3 function_call_output", "4 user"])
        #expect(report.tally.saved > 300)

        var system = request
        _ = PromptCompressor(options: CompressionOptions(level: .safe, system: true), tokenizer: tokenizer).compress(responsesRequest: &system)
        #expect(system["instructions"] == .string("Be brief.\n\nPlease."), "compression.system rewrites the instructions")
    }

    @Test("a string input is one user message; a JSON function output is minified")
    func shapes() throws {
        let c = PromptCompressor(options: CompressionOptions(level: .safe), tokenizer: tokenizer)
        var plain = try JSONValue.parse(#"{"model":"m","input":"Hello   there.\n\n\n\nBye."}"#)
        _ = c.compress(responsesRequest: &plain)
        #expect(plain["input"] == .string("Hello there.\n\nBye."))
        var json = try JSONValue.parse(#"{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":"{\n  \"a\": [1,  2]\n}"}]}"#)
        _ = c.compress(responsesRequest: &json)
        #expect(json["input"]?.arrayValue?.first?["output"] == .string(#"{"a":[1,2]}"#))
        var untouched = try JSONValue.parse(#"{"model":"m","input":"short"}"#)
        let before = untouched
        _ = c.compress(responsesRequest: &untouched)
        #expect(untouched == before, "nothing saved, nothing changed")
    }
}

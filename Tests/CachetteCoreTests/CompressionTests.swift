@testable import CachetteCore
import Testing

private let tokenizer = try! Tokenizer.shared(.o200k)
private func compressor(_ options: CompressionOptions = CompressionOptions()) -> PromptCompressor {
    PromptCompressor(options: options, tokenizer: tokenizer)
}
private func message(_ role: String, _ content: String) -> JSONValue {
    .object(["role": .string(role), "content": .string(content)])
}

@Suite("Compression: golden transforms")
struct CompressionGoldenTests {
    @Test("whole-content JSON is minified; key order, numbers and string bytes stay")
    func wholeJSON() throws {
        let pretty = "{\n  \"b\": 1.50,\n  \"a\": [1, 2],\n  \"s\": \"two  spaces \\u00e9\"\n}\n"
        let (out, report) = compressor().compress(messages: [message("tool", pretty)])
        #expect(out[0]["content"] == .string(#"{"b":1.50,"a":[1,2],"s":"two  spaces \u00e9"}"#))
        #expect(report.after[0] < report.before[0])
        #expect(try JSONValue.parse(pretty) == JSONValue.parse(out[0]["content"]!.stringValue!))
    }

    @Test("fenced json blocks are minified, the prose and other fences kept")
    func fencedJSON() {
        let text = "Result:\n```json\n{\n  \"ok\": true,\n  \"items\": [\n    1,\n    2\n  ]\n}\n```\n```python\nx = {\n  'a': 1\n}\n```"
        let (out, _) = compressor().compress(messages: [message("user", text)])
        #expect(out[0]["content"] == .string("Result:\n```json\n{\"ok\":true,\"items\":[1,2]}\n```\n```python\nx = {\n  'a': 1\n}\n```"))
    }

    @Test("prose whitespace: trailing spaces, blank-line runs and space runs; indentation and fences untouched")
    func whitespace() {
        let text = "Hello   there,  world.   \n\n\n\nNext line\n    indented   keeps  its  spaces\n```\ncode    stays   \n\n\n```\nSearch  \"exact   phrase\"  now"
        let (out, _) = compressor().compress(messages: [message("user", text)])
        #expect(out[0]["content"] == .string("Hello there, world.\n\nNext line\n    indented keeps its spaces\n```\ncode    stays   \n\n\n```\nSearch \"exact   phrase\" now"))
    }

    @Test("a repeated block of enough tokens becomes a reference to the earliest copy, which is never changed")
    func duplicates() {
        let document = (1...40).map { "Clause \($0) of the agreement applies." }.joined(separator: " ")
        let messages = [
            message("user", document),
            message("assistant", "Noted."),
            message("user", document),
            message("user", "Again:\n```\n\(document)\n```"),
        ]
        let (out, report) = compressor().compress(messages: messages)
        #expect(out[0] == messages[0])
        #expect(out[2]["content"] == .string("[Same text as in message 1 above.]"))
        #expect(out[3] == messages[3], "a fenced block is compared as a block, and this one is new")
        #expect(report.saved > 300)
        // A short repeat stays.
        let short = compressor().compress(messages: [message("user", "yes please"), message("user", "yes please")]).messages
        #expect(short[1]["content"] == .string("yes please"))
    }

    @Test("a document pasted again inside a new question is replaced paragraph by paragraph")
    func paragraphs() {
        let paragraph1 = (1...12).map { "The warranty covers part \($0) for two years." }.joined(separator: " ")
        let paragraph2 = (1...12).map { "Returns of item \($0) need a receipt." }.joined(separator: " ")
        let context = "Document 1:\n\(paragraph1)\n\n\(paragraph2)"
        let messages = [
            message("user", "\(context)\n\nQuestion: how long is the warranty?"),
            message("assistant", "Two years."),
            message("user", "\(context)\n\nQuestion: what do returns need?"),
        ]
        let (out, report) = compressor().compress(messages: messages)
        #expect(out[0] == messages[0])
        #expect(out[2]["content"] == .string(
            "[Same paragraph as in message 1 above.]\n\n[Same paragraph as in message 1 above.]\n\nQuestion: what do returns need?"
        ))
        #expect(report.after[2] < report.before[2] / 4)
    }

    @Test("the system message is left alone unless compression.system is on")
    func system() {
        let text = "Be   brief.\n\n\n\nAlways."
        #expect(compressor().compress(messages: [message("system", text)]).messages[0]["content"] == .string(text))
        #expect(compressor(CompressionOptions(system: true)).compress(messages: [message("system", text)]).messages[0]["content"]
            == .string("Be brief.\n\nAlways."))
    }

    @Test("off changes nothing")
    func off() {
        let messages = [message("user", "a   b\n\n\n\nc")]
        #expect(compressor(CompressionOptions(level: .off)).compress(messages: messages).messages == messages)
    }
}

/// Generated conversations for the invariants: pretty JSON tool results, prose with
/// stray whitespace, fenced code, repeated documents, multi-part content with images,
/// tool calls with pretty arguments, names and system messages.
struct ConversationGenerator {
    var rng: SplitMix64

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }

    mutating func text() -> String {
        switch rng.next() % 6 {
        case 0: return "{\n  \"id\": \(rng.next() % 1000),\n  \"name\": \"item  \(rng.next() % 9)\",\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"price\": 1.250\n}"
        case 1: return "Some   prose with  spaces.   \n\n\n\nAnother paragraph \(rng.next() % 5).  "
        case 2: return "Look:\n```python\ndef f(x):\n    return  x   * 2   \n\n\n```\nDone   now."
        case 3: return pick(Self.documents)
        case 4: return "Data:\n```json\n{\n  \"k\": [1,  2],\n  \"s\": \"x  y\"\n}\n```\n"
        default: return "ok \(rng.next() % 3)"
        }
    }

    static let documents = [
        (1...50).map { "Section \($0): the tenant keeps the premises in good repair." }.joined(separator: "\n"),
        (1...30).map { "Log line \($0): request served in \($0 * 3) ms" }.joined(separator: "\n"),
    ]

    mutating func conversation() -> [JSONValue] {
        var messages: [JSONValue] = [message("system", "You  are   helpful.\n\n\n\nBe brief.   ")]
        for _ in 0..<(2 + Int(rng.next() % 7)) {
            switch rng.next() % 5 {
            case 0:
                messages.append(.object([
                    "role": .string("user"),
                    "content": .array([
                        .object(["type": .string("text"), "text": .string(text())]),
                        .object(["type": .string("image_url"), "image_url": .object(["url": .string("https://example.com/a.png")])]),
                    ]),
                ]))
            case 1:
                messages.append(.object([
                    "role": .string("assistant"), "content": .null,
                    "tool_calls": .array([.object([
                        "id": .string("call_1"), "type": .string("function"),
                        "function": .object(["name": .string("lookup"), "arguments": .string("{\n  \"q\":  \"x\"\n}")]),
                    ])]),
                ]))
            case 2:
                messages.append(.object(["role": .string("tool"), "tool_call_id": .string("call_1"), "content": .string(text())]))
            case 3:
                messages.append(.object(["role": .string("user"), "name": .string("ana"), "content": .string(text())]))
            default:
                messages.append(message("assistant", text()))
            }
        }
        return messages
    }
}

@Suite("Compression: invariants over generated conversations")
struct CompressionInvariantTests {
    static let seeds: [UInt64] = Array(1...60)

    @Test("deterministic, prefix-stable, never grows, structure untouched", arguments: seeds)
    func invariants(seed: UInt64) throws {
        var generator = ConversationGenerator(rng: SplitMix64(state: seed))
        let messages = generator.conversation()
        let c = compressor()
        let (out, report) = c.compress(messages: messages)

        // 1. Deterministic.
        #expect(c.compress(messages: messages).messages == out)
        // 2. Prefix-stable.
        for k in 1...messages.count {
            #expect(Array(c.compress(messages: Array(messages.prefix(k))).messages) == Array(out.prefix(k)), "prefix \(k)")
        }
        for (i, (before, after)) in zip(messages, out).enumerated() {
            // 3. Never grows, and the report is exact.
            #expect(report.after[i] <= report.before[i])
            let counted = DuplicateRegistry.texts(of: after).reduce(0) { $0 + tokenizer.count($1) }
            #expect(counted == report.after[i])
            // 4. Structure untouched: every member but the content, and every non-text part.
            #expect(before.members?.filter { $0.key != "content" } == after.members?.filter { $0.key != "content" })
            if case .array(let a)? = before["content"], case .array(let b)? = after["content"] {
                #expect(a.count == b.count)
                for (pa, pb) in zip(a, b) where pa["type"]?.stringValue != "text" { #expect(pa == pb) }
            }
            if before["role"]?.stringValue == "system" { #expect(before == after) }
            // safe never changes a parsed JSON value.
            if let text = before["content"]?.stringValue, let parsed = try? JSONValue.parse(text),
               let rewritten = after["content"]?.stringValue, !rewritten.hasPrefix("[Same") {
                #expect(try JSONValue.parse(rewritten) == parsed)
            }
        }
    }
}

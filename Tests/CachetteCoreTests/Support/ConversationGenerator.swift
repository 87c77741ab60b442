@testable import CachetteCore
import Testing

/// Generated conversations for the invariants: pretty JSON tool results, prose with
/// stray whitespace, fenced code, repeated documents, multi-part content with images,
/// tool calls with pretty arguments, names and system messages.
struct ConversationGenerator {
    var rng: SplitMix64

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }

    mutating func text() -> String {
        switch rng.next() % 11 {
        case 9:
            // An excerpt of a document, from any line, with a question around it.
            let lines = pick(Self.documents).split(separator: "\n", omittingEmptySubsequences: false)
            let start = Int(rng.next() % UInt64(lines.count - 5))
            let end = start + 5 + Int(rng.next() % UInt64(lines.count - start - 5 + 1))
            return "From the document:\n" + lines[start..<end].joined(separator: "\n") + "\n\nWhat does this mean?"
        case 10:
            // A document of short paragraphs, none long enough alone, indented the second time.
            return (1...18).map { "\(rng.next() % 2 == 0 ? "    " : "")\($0). Notices stay with the copy." }.joined(separator: "\n\n")
        case 6: return "Patch:\n```python\n# helper \(rng.next() % 4)\nx = f('#not', \"//no\")  # why\n```\nand\n```js\n/* a */ let y = 2; // b\n```"
        case 7:
            return (0..<(3 + Int(rng.next() % 5))).map { _ in "the service answered every request within the agreed latency budget" }.joined(
                separator: "\n")
        case 8:
            return (0..<(100 + Int(rng.next() % 200))).map { "line \($0): worker \($0 % 5) finished a batch in \($0 * 7 % 90) ms" }.joined(
                separator: "\n")
        case 0:
            return
                "{\n  \"id\": \(rng.next() % 1000),\n  \"name\": \"item  \(rng.next() % 9)\",\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"price\": 1.250\n}"
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
                messages.append(
                    .object([
                        "role": .string("user"),
                        "content": .array([
                            .object(["type": .string("text"), "text": .string(text())]),
                            .object(["type": .string("image_url"), "image_url": .object(["url": .string("https://example.com/a.png")])]),
                        ]),
                    ]))
            case 1:
                messages.append(
                    .object([
                        "role": .string("assistant"), "content": .null,
                        "tool_calls": .array([
                            .object([
                                "id": .string("call_1"), "type": .string("function"),
                                "function": .object(["name": .string("lookup"), "arguments": .string("{\n  \"q\":  \"x\"\n}")]),
                            ])
                        ]),
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

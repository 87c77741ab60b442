@testable import CachetteCore
import Testing

/// Generated Anthropic conversations: tools, a system string or blocks, and turns with
/// text, tool calls, tool results, images and thinking blocks, sometimes with a
/// client's own `cache_control`.
struct MessagesGenerator {
    var rng: SplitMix64

    mutating func next(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: rng.next() % UInt64(bound))
    }

    mutating func words(_ count: Int) -> String {
        let vocabulary = ["cache", "prefix", "token", "the", "block", "write", "read", "agent", "tool", "result", "é", "日本", "\"q\"", "\\"]
        return (0..<count).map { _ in vocabulary[next(vocabulary.count)] }.joined(separator: " ")
    }

    mutating func block(role: String, clientMarks: Bool) -> JSONValue {
        var block: JSONValue
        switch next(role == "assistant" ? 4 : 3) {
        case 0: block = .object(["type": .string("text"), "text": .string(words(1 + next(400)))])
        case 1 where role == "assistant":
            block = .object([
                "type": .string("tool_use"), "id": .string("t\(next(1000))"), "name": .string("read"), "input": .object(["path": .string(words(2))]),
            ])
        case 1:
            block = .object([
                "type": .string("tool_result"), "tool_use_id": .string("t\(next(1000))"),
                "content": .array([.object(["type": .string("text"), "text": .string(words(next(600)))])]),
            ])
        case 2 where role == "assistant": block = .object(["type": .string("thinking"), "thinking": .string(words(20)), "signature": .string("sig")])
        case 3: block = .object(["type": .string("redacted_thinking"), "data": .string("opaque")])
        default:
            block = .object([
                "type": .string("image"), "source": .object(["type": .string("url"), "url": .string("https://example.com/\(next(9)).png")]),
            ])
        }
        if clientMarks && next(30) == 0 { block.set("cache_control", .object(["type": .string("ephemeral")])) }
        return block
    }

    mutating func request(turns: Int, clientMarks: Bool, model: String = "claude-sonnet-4-6") -> JSONValue {
        var members: [JSONValue.Member] = [.init("model", .string(model)), .init("max_tokens", .int(256))]
        if next(2) == 0 {
            members.append(
                .init(
                    "tools",
                    .array(
                        (0..<(1 + next(3))).map { _ in
                            .object([
                                "name": .string(words(1)), "description": .string(words(next(300))),
                                "input_schema": .object(["type": .string("object")]),
                            ])
                        })))
        }
        switch next(3) {
        case 0: members.append(.init("system", .string(words(1 + next(900)))))
        case 1: members.append(.init("system", .array([.object(["type": .string("text"), "text": .string(words(1 + next(900)))])])))
        default: break
        }
        var messages: [JSONValue] = []
        for index in 0..<turns {
            let role = index % 2 == 0 ? "user" : "assistant"
            let content: JSONValue =
                next(3) == 0 ? .string(words(next(200))) : .array((0..<(1 + next(4))).map { _ in block(role: role, clientMarks: clientMarks) })
            messages.append(.object(["role": .string(role), "content": content]))
        }
        members.append(.init("messages", .array(messages)))
        if clientMarks && next(40) == 0 { members.append(.init("cache_control", .object(["type": .string("ephemeral")]))) }
        // Clients write members in any order: the bytes need not be in render order.
        members.shuffle(using: &rng)
        return .object(members)
    }
}

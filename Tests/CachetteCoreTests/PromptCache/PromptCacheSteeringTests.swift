@testable import CachetteCore
import Testing

@Suite("Priced Anthropic breakpoints: every never, over generated conversations")
struct PromptCacheSteeringTests {
    let tokenizer = try! Tokenizer.shared(.o200k)

    /// The blocks of a parsed request in render order, as the billing fake reads them.
    static func renderBlocks(_ request: JSONValue) -> [JSONValue] {
        var out = request["tools"]?.arrayValue ?? []
        switch request["system"] {
        case .string(let text)?: out.append(.string(text))
        case .array(let blocks)?: out += blocks
        default: break
        }
        for message in request["messages"]?.arrayValue ?? [] {
            switch message["content"] {
            case .string(let text)?: out.append(.string(text))
            case .array(let blocks)?: out += blocks
            default: break
            }
        }
        return out
    }

    static func strings(_ value: JSONValue) -> [String] {
        var texts: [String] = []
        PromptCacheKey.strings(in: value, into: &texts)
        return texts
    }

    /// Checks one steered request against its original and returns its markers' blocks.
    func check(original: [UInt8], steered: [UInt8]?, threshold: Int) throws -> [Int] {
        let before = try JSONValue.parse(original)
        let map = try #require(original.withUnsafeBytes { MessagesBlocks($0, scope: "", model: "") })
        guard let steered else { return [] }
        #expect(!map.clientMarked, "a request the client marked is never changed")
        let after = try JSONValue.parse(steered)
        let blocks = Self.renderBlocks(after)
        let marked = blocks.indices.filter { blocks[$0]["cache_control"] != nil }
        #expect(!marked.isEmpty && marked.count <= 4, "at most 4 breakpoints")
        for index in marked {
            let type = blocks[index]["type"]?.stringValue
            #expect(type != "thinking" && type != "redacted_thinking", "never on a thinking block")
            // Counted independently: every string of every block through the marked one.
            let tokens = Self.renderBlocks(before)[...index].flatMap(Self.strings).reduce(0) { $0 + tokenizer.count($1) }
            #expect(tokens >= threshold, "never below the minimum: \(tokens) < \(threshold)")
        }
        // Byte identity: without its markers, the body is the original's bytes, where a
        // marked string is the one text block it stands for.
        var stripped = steered
        for marker in [PromptCacheSteering.ephemeralHour, PromptCacheSteering.ephemeral] {
            while let at = stripped.firstRange(of: marker) {
                let comma = at.lowerBound > 0 && stripped[at.lowerBound - 1] == UInt8(ascii: ",")
                stripped.removeSubrange((comma ? at.lowerBound - 1 : at.lowerBound)..<at.upperBound)
            }
        }
        var expected: [UInt8] = []
        var copied = 0
        for index in marked where map.blocks[index].isString {
            let span = map.blocks[index].span
            expected += original[copied..<span.lowerBound] + Array(#"[{"type":"text","text":"#.utf8) + original[span] + Array("}]".utf8)
            copied = span.upperBound
        }
        expected += original[copied...]
        let identical = stripped == expected
        #expect(identical, "only cache_control fields are added")
        return marked
    }

    @Test("sessions that continue, one-shots, client-marked requests: never more than 4, never thinking, never short, nothing else changed")
    func properties() throws {
        var generator = MessagesGenerator(rng: SplitMix64(state: 29))
        var settings = PromptCacheSteering.Settings()
        settings.maxPrefixes = 500
        let steering = PromptCacheSteering(settings: settings)
        let threshold = settings.threshold(for: "claude-sonnet-4-6")
        var now = 1_000_000.0
        var markedAny = 0
        for session in 0..<80 {
            let clientMarks = session % 5 == 0
            let credential = "sk-\(session % 4)"
            var request = generator.request(turns: 1 + generator.next(3), clientMarks: clientMarks)
            for _ in 0..<(1 + generator.next(12)) {
                let bytes = request.serialized()
                let steered = bytes.withUnsafeBytes {
                    steering.steer($0, credential: credential, model: "claude-sonnet-4-6", tokenizer: tokenizer, now: now)
                }
                markedAny += try check(original: bytes, steered: steered, threshold: threshold).count
                // The conversation goes on: an answer and the next turn (many blocks, some turns).
                var messages = request["messages"]?.arrayValue ?? []
                let lastRole = messages.last?["role"]?.stringValue
                for index in 0..<(1 + generator.next(3)) {
                    let role = (lastRole == "user") == (index % 2 == 0) ? "assistant" : "user"
                    messages.append(
                        .object([
                            "role": .string(role),
                            "content": .array((0..<(1 + generator.next(14))).map { _ in generator.block(role: role, clientMarks: clientMarks) }),
                        ]))
                }
                request.set("messages", .array(messages))
                now += Double(generator.next(400))
            }
        }
        #expect(markedAny > 30, "continuations were marked (\(markedAny) markers)")
        #expect(steering.counters.prefixesRemembered <= 500)
        #expect(steering.counters.clientMarked > 0)
    }

    func steer(_ steering: PromptCacheSteering, _ request: JSONValue, credential: String = "sk", now: Double) -> [Int] {
        let bytes = request.serialized()
        let steered = bytes.withUnsafeBytes { steering.steer($0, credential: credential, model: "claude-sonnet-4-6", tokenizer: tokenizer, now: now) }
        guard let steered, let parsed = try? JSONValue.parse(steered) else { return [] }
        let blocks = Self.renderBlocks(parsed)
        return blocks.indices.filter { blocks[$0]["cache_control"] != nil }
    }

    static let longSystem = String(repeating: "You are a careful agent; read before you write. ", count: 200)

    static func conversation(system: String = longSystem, turns: [String]) -> JSONValue {
        .object([
            "model": .string("claude-sonnet-4-6"), "max_tokens": .int(64), "system": .string(system),
            "messages": .array(turns.enumerated().map { .object(["role": .string($0 % 2 == 0 ? "user" : "assistant"), "content": .string($1)]) }),
        ])
    }

    @Test("a new scope's first stable prefix gets a marker, its tail none; the prefix again gets its own; a continuation gets its tail")
    func placement() {
        let steering = PromptCacheSteering(settings: .init())
        let question = String(repeating: "What does the write-ahead log do? ", count: 10)
        #expect(steer(steering, Self.conversation(turns: [question]), now: 0) == [0], "an even chance that a new stable prefix recurs")
        #expect(steering.counters.markersSkipped == 1, "the tail of a first turn, with no evidence that first turns continue")
        #expect(steer(steering, Self.conversation(turns: ["Another question entirely."]), now: 10) == [0])
        // The first conversation continues: its tail is marked, and the system too (free).
        #expect(steer(steering, Self.conversation(turns: [question, "It logs.", "And checkpoints?"]), now: 20) == [0, 3])
        // Another scope knows nothing of the conversation.
        #expect(steer(steering, Self.conversation(turns: [question, "It logs.", "And checkpoints?"]), credential: "other", now: 30) == [0])
        #expect(steering.counters.breakpointsAdded == 5)
    }

    @Test("a scope whose new stable prefixes never recur stops marking them; one that offers tools has its first turn marked")
    func unique() {
        let steering = PromptCacheSteering(settings: .init())
        let marked = (0..<6).map { index in
            steer(steering, Self.conversation(system: "Document \(index): " + Self.longSystem, turns: ["Summarise it."]), now: Double(index))
        }
        #expect(marked == [[0], [0], [], [], [], []], "two premiums, then the evidence says no")
        var withTools = Self.conversation(system: "Agent: " + Self.longSystem, turns: ["Fix the build."])
        withTools.set("tools", .array([.object(["name": .string("read"), "input_schema": .object([:])])]))
        #expect(steer(steering, withTools, credential: "agent", now: 10) == [1, 2])
    }

    @Test("members in any order: tools after messages are marked where they are, and nothing else moves")
    func memberOrder() throws {
        let steering = PromptCacheSteering(settings: .init())
        let system = String(repeating: "Read the files first. ", count: 300)
        let body =
            #"{"messages":[{"role":"user","content":"Fix it."}],"model":"claude-sonnet-4-6","system":"\#(system)","#
            + #""tools":[{"name":"read","input_schema":{}}]}"#
        let steered = try #require(
            Array(body.utf8).withUnsafeBytes { steering.steer($0, credential: "k", model: "claude-sonnet-4-6", tokenizer: tokenizer, now: 0) })
        let marker = #""cache_control":{"type":"ephemeral"}"#
        let expected =
            #"{"messages":[{"role":"user","content":[{"type":"text","text":"Fix it.",\#(marker)}]}],"model":"claude-sonnet-4-6","#
            + #""system":[{"type":"text","text":"\#(system)",\#(marker)}],"tools":[{"name":"read","input_schema":{}}]}"#
        #expect(String(decoding: steered, as: UTF8.self) == expected)
    }

    @Test("a short prompt is never marked, however often it recurs")
    func short() {
        let steering = PromptCacheSteering(settings: .init())
        for second in 0..<5 {
            #expect(steer(steering, Self.conversation(system: "Be brief.", turns: ["Hi", "Hello", "Bye \(second)"]), now: Double(second)) == [])
        }
        #expect(steering.counters.breakpointsAdded == 0)
    }

    @Test("the minimum follows the model family, with the margin")
    func minimums() {
        var settings = PromptCacheSteering.Settings()
        #expect(settings.threshold(for: "claude-sonnet-4-6") == 1126)
        #expect(settings.threshold(for: "anthropic/claude-haiku-4-5-20251001") == 4505)
        #expect(settings.threshold(for: "claude-3-5-haiku-latest") == 2252)
        settings.marginPercent = 0
        settings.defaultMinimum = 2000
        #expect(settings.threshold(for: "claude-sonnet-4-6") == 2000)
    }

    @Test("a tail more than 20 blocks past the last write gets a bridge at that write")
    func bridge() {
        let steering = PromptCacheSteering(settings: .init())
        let long = String(repeating: "tool output line with several words in it. ", count: 40)
        var turns = ["Start the task.", "ok"]
        _ = steer(steering, Self.conversation(turns: turns), now: 0)
        turns += ["go on"]
        let second = steer(steering, Self.conversation(turns: turns), now: 1)
        #expect(second == [0, 3], "a continuation: system and tail")
        // 24 more blocks: the tail's look-back cannot reach block 3.
        turns += (0..<24).map { $0 % 2 == 0 ? "step \($0)" : long }
        let third = steer(steering, Self.conversation(turns: turns), now: 2)
        // The bridge reaches back to the write at 3 and is itself as far on as it can be.
        #expect(third == [0, 23, 27])
    }

    @Test("a scope whose conversations come back after five minutes gets hour-long markers; one that comes back sooner, five minutes")
    func hour() throws {
        for (gap, hourly) in [(600.0, true), (60.0, false)] {
            let steering = PromptCacheSteering(settings: .init())
            var turns = ["Start the long task."]
            var bodies: [String] = []
            for step in 0..<5 {
                let bytes = Self.conversation(turns: turns).serialized()
                let steered = bytes.withUnsafeBytes {
                    steering.steer($0, credential: "k", model: "claude-sonnet-4-6", tokenizer: tokenizer, now: Double(step) * gap)
                }
                bodies.append(steered.map { String(decoding: $0, as: UTF8.self) } ?? "")
                turns += ["Done step \(step).", "Go on with step \(step + 1)."]
            }
            // Two reuses seen, both slow: from then on the hour pays (0.75 / 1.15 of reuses after five minutes).
            #expect(bodies.map { $0.contains(#""ttl":"1h""#) } == [false, false, false, hourly, hourly], "gap \(gap)")
            #expect(bodies.dropFirst().allSatisfy { $0.contains("cache_control") })
        }
    }

    @Test("the memory holds at most max_prefixes, the least recently seen forgotten first")
    func bounded() {
        var settings = PromptCacheSteering.Settings()
        settings.maxPrefixes = 64
        let steering = PromptCacheSteering(settings: settings)
        for index in 0..<1000 {
            _ = steer(steering, Self.conversation(system: "system \(index % 300)", turns: ["q \(index)"]), now: Double(index))
        }
        #expect(steering.counters.prefixesRemembered <= 64)
        #expect(steering.counters.prefixesRemembered >= 60)
    }
}

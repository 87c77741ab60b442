import CachetteCore
import Testing

/// The billing fake itself: each of Anthropic's prompt-cache rules it models.
@Suite("Anthropic prompt-cache billing (the fake)")
struct PromptCacheBillingTests {
    /// A request whose system is `system` (about 1,300 tokens, or `short`), then `turns`
    /// user/assistant messages, with breakpoints on the system and on the given messages.
    static func request(
        turns: Int, marked: Set<Int> = [], systemMarked: Bool = true, short: Bool = false, ttl: String? = nil, model: String = "claude-sonnet-4-6",
        firstTurn: String? = nil
    ) -> JSONValue {
        var control: [JSONValue.Member] = [.init("type", .string("ephemeral"))]
        if let ttl { control.append(.init("ttl", .string(ttl))) }
        func block(_ text: String, marked: Bool) -> JSONValue {
            var members: [JSONValue.Member] = [.init("type", .string("text")), .init("text", .string(text))]
            if marked { members.append(.init("cache_control", .object(control))) }
            return .object(members)
        }
        let system = short ? "Be brief." : String(repeating: "You are a careful assistant. ", count: 180)
        let messages = (0..<turns).map { i in
            JSONValue.object([
                .init("role", .string(i % 2 == 0 ? "user" : "assistant")),
                .init(
                    "content",
                    .array([
                        block(i == 0 ? firstTurn ?? "turn 0 " + String(repeating: "words ", count: 20) : "turn \(i) ", marked: marked.contains(i))
                    ])
                ),
            ])
        }
        return .object([
            .init("model", .string(model)), .init("max_tokens", .number("64")),
            .init("system", .array([block(system, marked: systemMarked)])), .init("messages", .array(messages)),
        ])
    }

    func usage(_ billed: PromptCacheBilling.Billed) -> PromptCacheBilling.Usage? {
        if case .usage(let usage) = billed { return usage }
        return nil
    }

    @Test("a marked prefix is written once, then read; unmarked, short, another credential or model: nothing is read")
    func writeThenRead() throws {
        let billing = PromptCacheBilling()
        let first = try #require(usage(billing.bill(Self.request(turns: 1), credential: "a", now: 0)))
        #expect(first.cacheRead == 0 && first.cacheCreation > 1024 && first.input > 0)
        let second = try #require(usage(billing.bill(Self.request(turns: 1), credential: "a", now: 10)))
        #expect(second.cacheRead == first.cacheCreation && second.cacheCreation == 0 && second.input == first.input)
        #expect(usage(billing.bill(Self.request(turns: 1), credential: "b", now: 20))?.cacheRead == 0)
        #expect(usage(billing.bill(Self.request(turns: 1, model: "claude-opus-4-5"), credential: "a", now: 20))?.cacheRead == 0)
        let unmarked = try #require(usage(billing.bill(Self.request(turns: 1, systemMarked: false), credential: "c", now: 0)))
        #expect(unmarked.cacheRead == 0 && unmarked.cacheCreation == 0)
        _ = billing.bill(Self.request(turns: 1, short: true), credential: "d", now: 0)
        let short = try #require(usage(billing.bill(Self.request(turns: 1, short: true), credential: "d", now: 1)))
        #expect(short.cacheRead == 0 && short.cacheCreation == 0, "below the minimum: never cached")
    }

    @Test("more than 4 breakpoints, or one on a thinking block, is refused")
    func refusals() {
        let billing = PromptCacheBilling()
        if case .refused(let why) = billing.bill(Self.request(turns: 6, marked: [0, 1, 2, 3]), credential: "a") {
            #expect(why.contains("4"))
        } else {
            Issue.record("5 breakpoints were billed")
        }
        let thinking = JSONValue.object([
            .init("model", .string("claude-sonnet-4-6")),
            .init(
                "messages",
                .array([
                    .object([
                        .init("role", .string("assistant")),
                        .init(
                            "content",
                            .array([
                                .object([
                                    .init("type", .string("thinking")), .init("thinking", .string("hm")),
                                    .init("cache_control", .object([.init("type", .string("ephemeral"))])),
                                ])
                            ])),
                    ])
                ])),
        ])
        #expect(billing.bill(thinking, credential: "a") == .refused("cache_control cannot be set for thinking blocks."))
    }

    @Test("a conversation's tail reads the previous turn's prefix within 20 blocks, not past them")
    func lookBack() throws {
        let billing = PromptCacheBilling()
        _ = billing.bill(Self.request(turns: 3, marked: [2]), credential: "a", now: 0)
        let next = try #require(usage(billing.bill(Self.request(turns: 5, marked: [4]), credential: "a", now: 1)))
        let through3 = try #require(usage(billing.bill(Self.request(turns: 3, marked: [2]), credential: "z", now: 0)))
        #expect(next.cacheRead == through3.cacheCreation, "turns 0-2 and the system read")
        #expect(next.cacheCreation > 0 && next.cacheCreation < next.cacheRead, "turns 3-4 written")
        // 25 blocks later, out of reach of a single tail breakpoint: only the system prefix is read.
        let far = try #require(usage(billing.bill(Self.request(turns: 28, marked: [27]), credential: "a", now: 2)))
        let system = try #require(usage(billing.bill(Self.request(turns: 0), credential: "y", now: 0)))
        #expect(far.cacheRead == system.cacheCreation)
    }

    @Test("an hour's writes are told apart in the usage")
    func hourWrites() throws {
        let billing = PromptCacheBilling()
        let hour = try #require(usage(billing.bill(Self.request(turns: 1, ttl: "1h"), credential: "h", now: 0)))
        #expect(hour.cacheCreation > 1024 && hour.cacheCreation1h == hour.cacheCreation)
        let five = try #require(usage(billing.bill(Self.request(turns: 1), credential: "f", now: 0)))
        #expect(five.cacheCreation > 1024 && five.cacheCreation1h == 0)
        #expect(billing.cost == Double(hour.input + five.input) + 2 * Double(hour.cacheCreation) + 1.25 * Double(five.cacheCreation))
    }

    @Test("a prefix lives 5 minutes, an hour with ttl 1h, and a read starts its lifetime again")
    func lifetimes() throws {
        let billing = PromptCacheBilling()
        _ = billing.bill(Self.request(turns: 1), credential: "a", now: 0)
        #expect(usage(billing.bill(Self.request(turns: 1), credential: "a", now: 290))?.cacheRead ?? 0 > 0)
        #expect(usage(billing.bill(Self.request(turns: 1), credential: "a", now: 580))?.cacheRead ?? 0 > 0, "refreshed at 290 s")
        #expect(usage(billing.bill(Self.request(turns: 1), credential: "a", now: 900))?.cacheRead == 0, "expired")
        _ = billing.bill(Self.request(turns: 1, ttl: "1h"), credential: "b", now: 0)
        #expect(usage(billing.bill(Self.request(turns: 1, ttl: "1h"), credential: "b", now: 1800))?.cacheRead ?? 0 > 0)
    }
}

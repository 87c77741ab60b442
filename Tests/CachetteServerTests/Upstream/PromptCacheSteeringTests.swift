import CachetteCore
import HTTPTypes
import Testing

@testable import CachetteServer

/// Priced Anthropic breakpoints through the sidecar, against a fake that bills as
/// Anthropic does (`PromptCacheBilling`).
@Suite("Anthropic breakpoints through the sidecar: native and translated")
struct PromptCacheSteeringEndpointTests {
    static let system = String(repeating: "You are a careful agent: read the files before you change them. ", count: 160)

    static func headers(_ key: String, steering: String? = nil) -> HTTPFields {
        var fields: HTTPFields = [HTTPField.Name("x-api-key")!: key, HTTPField.Name("anthropic-version")!: "2023-06-01", .authorization: ""]
        if let steering { fields[CachetteHeaders.promptCache] = steering }
        return fields
    }

    /// Turn `n` of an agent session, native: the system, then alternating user and
    /// assistant turns, each a tool call or a tool result with some output.
    static func native(turn n: Int, session: String, stream: Bool = false) -> String {
        var messages: [JSONValue] = [.object(["role": .string("user"), "content": .string("Task \(session): fix the failing test.")])]
        for step in 0..<n {
            messages.append(
                .object([
                    "role": .string("assistant"),
                    "content": .array([
                        .object([
                            "type": .string("tool_use"), "id": .string("t\(step)"), "name": .string("read"),
                            "input": .object(["path": .string("f\(step)")]),
                        ])
                    ]),
                ]))
            messages.append(
                .object([
                    "role": .string("user"),
                    "content": .array([
                        .object([
                            "type": .string("tool_result"), "tool_use_id": .string("t\(step)"),
                            "content": .string(String(repeating: "line \(step) of the file \(session)\n", count: 30)),
                        ])
                    ]),
                ]))
        }
        var request: [JSONValue.Member] = [
            .init("model", .string("claude-sonnet-4-6")), .init("max_tokens", .int(64)), .init("system", .string(system)),
            .init("messages", .array(messages)),
        ]
        if stream { request.append(.init("stream", .bool(true))) }
        return String(decoding: JSONValue.object(request).serialized(), as: UTF8.self)
    }

    /// The same session as an OpenAI chat request for a Claude model, which Cachette translates.
    static func chat(turn n: Int, session: String) -> String {
        var messages: [JSONValue] = [
            .object(["role": .string("system"), "content": .string(system)]),
            .object(["role": .string("user"), "content": .string("Task \(session): fix the failing test.")]),
        ]
        for step in 0..<n {
            messages.append(
                .object([
                    "role": .string("assistant"), "content": .null,
                    "tool_calls": .array([
                        .object([
                            "id": .string("t\(step)"), "type": .string("function"),
                            "function": .object(["name": .string("read"), "arguments": .string(#"{"path":"f\#(step)"}"#)]),
                        ])
                    ]),
                ]))
            messages.append(
                .object([
                    "role": .string("tool"), "tool_call_id": .string("t\(step)"),
                    "content": .string(String(repeating: "line \(step) of the file \(session)\n", count: 30)),
                ]))
        }
        return String(decoding: JSONValue.object(["model": .string("claude-sonnet-4-6"), "messages": .array(messages)]).serialized(), as: UTF8.self)
    }

    static func routed(_ config: inout CachetteConfig) {
        let base = config.upstream.baseURL
        config.upstreams = [.init(name: "anthropic", baseURL: base, format: .anthropic, models: ["claude-*"]), .init(name: "default", baseURL: base)]
    }

    @Test(
        "an agent session, native or translated: marked and read back from the second turn; with steering off it pays full price",
        arguments: [true, false])
    func session(translated: Bool) async throws {
        let steered = PromptCacheBilling(), unmarked = PromptCacheBilling()
        for (billing, mode) in [(steered, "auto"), (unmarked, "off")] {
            try await Harness.run(upstream: FakeUpstream(billing: billing), configure: Self.routed) { h in
                for turn in 0..<10 {
                    let (path, body) =
                        translated
                        ? ("/v1/chat/completions", Self.chat(turn: turn, session: "t")) : ("/v1/messages", Self.native(turn: turn, session: "a"))
                    let answer = try await h.post(path, body, headers: Self.headers("sk-a", steering: mode))
                    #expect(answer.status == .ok, "\(answer.text)")
                    let marked = h.upstream.lastBody.contains("cache_control")
                    // The first turn: its system, a stable prefix never seen (an even chance).
                    #expect(marked == (mode == "auto"), "turn \(turn), \(mode)")
                }
            }
        }
        #expect(steered.total.cacheRead > 0 && unmarked.total.cacheRead == 0)
        #expect(steered.cost < 0.5 * unmarked.cost, "\(steered.cost) against \(unmarked.cost)")
    }

    @Test("unique one-shots and short prompts are sent exactly as the client sent them")
    func oneShots() async throws {
        let billing = PromptCacheBilling()
        try await Harness.run(upstream: FakeUpstream(billing: billing), configure: Self.routed) { h in
            for index in 0..<8 {
                let document = String(repeating: "Paragraph \(index) of a document nobody sends twice. ", count: 200)
                let body = #"{"model":"claude-sonnet-4-6","max_tokens":64,"messages":[{"role":"user","content":"Summarise: \#(document)"}]}"#
                expectCache(try await h.post("/v1/messages", body, headers: Self.headers("sk-u")), "MISS")
                let sentDocument = h.upstream.lastBody
                #expect(sentDocument == body, "sent as it came")
                let short =
                    #"{"model":"claude-sonnet-4-6","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":"Hi \#(index)"}]}"#
                expectCache(try await h.post("/v1/messages", short, headers: Self.headers("sk-u")), "MISS")
                let sentShort = h.upstream.lastBody
                #expect(sentShort == short, "sent as it came")
            }
        }
        #expect(billing.total.cacheCreation == 0)
    }

    @Test("a client's own markers win: its request goes as it came, even in a session steering knows")
    func clientMarkers() async throws {
        try await Harness.run(upstream: FakeUpstream(billing: PromptCacheBilling()), configure: Self.routed) { h in
            for turn in 0..<3 {
                _ = try await h.post("/v1/messages", Self.native(turn: turn, session: "c"), headers: Self.headers("sk-c"))
            }
            let mine = Self.native(turn: 3, session: "c").replacingOccurrences(
                of: #""tool_use_id":"t2","#, with: #""tool_use_id":"t2","cache_control":{"type":"ephemeral","ttl":"1h"},"#)
            expectCache(try await h.post("/v1/messages", mine, headers: Self.headers("sk-c")), "MISS")
            let sent = h.upstream.lastBody
            #expect(sent == mine, "sent as it came")
        }
    }

    @Test("prompt_cache.anthropic: off, and the header, leave every request alone")
    func off() async throws {
        try await Harness.run(
            upstream: FakeUpstream(billing: PromptCacheBilling()),
            configure: { config in
                Self.routed(&config)
                config.promptCache.anthropic = .off
            }
        ) { h in
            for turn in 0..<4 {
                let body = Self.native(turn: turn, session: "o")
                _ = try await h.post("/v1/messages", body, headers: Self.headers("sk-o"))
                let sent = h.upstream.lastBody
                #expect(sent == body)
            }
            // The header turns it on for one request.
            _ = try await h.post("/v1/messages", Self.native(turn: 4, session: "o"), headers: Self.headers("sk-o", steering: "auto"))
            let marked = h.upstream.lastBody.contains("cache_control")
            #expect(marked, "its system prompt: nothing was remembered while off, so a first sight")
        }
    }

    @Test("provider-cache dollars and steering's counts agree on /stats, /stats/series and /metrics")
    func surfaces() async throws {
        let billing = PromptCacheBilling()
        try await Harness.run(upstream: FakeUpstream(billing: billing), configure: Self.routed) { h in
            for turn in 0..<4 { _ = try await h.post("/v1/messages", Self.native(turn: turn, session: "m"), headers: Self.headers("sk-m")) }
            let total = billing.total
            // Sonnet: reads save 2.70 and writes cost 0.75 more, per million.
            let net = (Double(total.cacheRead) * 2.7 - Double(total.cacheCreation) * 0.75) / 1e6
            #expect(total.cacheRead > 0 && total.cacheCreation > 0 && net > 0)
            try await eventually { try await h.json("/stats")["models"]?["claude-sonnet-4-6"]?["requests"]?.intValue == 4 }
            let stats = try await h.json("/stats?window=1h")
            #expect(abs((stats["cost"]?["saved_provider_cache_usd"]?.doubleValue ?? 0) - net) < 1e-9)
            let model = try #require(stats["models"]?["claude-sonnet-4-6"])
            #expect(abs((model["saved_provider_cache_usd"]?.doubleValue ?? 0) - net) < 1e-9)
            #expect(model["cache_write_input_tokens"]?.intValue == total.cacheCreation && model["cached_input_tokens"]?.intValue == total.cacheRead)
            let steering = try #require(stats["prompt_cache"])
            let added = try #require(steering["breakpoints_added"]?.intValue)
            #expect(added >= 7 && (steering["prefixes_remembered"]?.intValue ?? 0) > 0, "\(steering)")
            let series = try await h.json("/stats/series?window=1h")
            let line = series["saved_provider_cache_usd"]?.arrayValue?.compactMap(\.doubleValue).reduce(0, +) ?? 0
            #expect(abs(line - net) < 1e-9)
            let s = MetricsTests.samples(try await h.get("/metrics").text)
            let reads = s[#"cachette_cost_usd_total{model="claude-sonnet-4-6",kind="provider_cache_read_savings"}"#] ?? 0
            let premium = s[#"cachette_cost_usd_total{model="claude-sonnet-4-6",kind="provider_cache_write_premium"}"#] ?? 0
            #expect(abs(reads - Double(total.cacheRead) * 2.7 / 1e6) < 1e-9 && abs(premium - Double(total.cacheCreation) * 0.75 / 1e6) < 1e-9)
            #expect(s["cachette_prompt_cache_breakpoints_total"] == Double(added))
            #expect(s[#"cachette_prompt_cache_skipped_total{reason="would_not_pay"}"#] == steering["skipped_would_not_pay"]?.doubleValue)
            #expect((s["cachette_prompt_cache_prefixes"] ?? 0) > 0)
        }
    }

    @Test("an hour's writes are booked at cache_write_1h")
    func hourPriced() async throws {
        let billing = PromptCacheBilling()
        try await Harness.run(upstream: FakeUpstream(billing: billing), configure: Self.routed) { h in
            let body = String(decoding: PromptCacheBillingTests.request(turns: 1, ttl: "1h").serialized(), as: UTF8.self)
            expectCache(try await h.post("/v1/messages", body, headers: Self.headers("sk-h")), "MISS")
            let total = billing.total
            #expect(total.cacheCreation1h > 1024 && total.cacheCreation1h == total.cacheCreation)
            try await eventually { try await h.json("/stats")["models"]?["claude-sonnet-4-6"]?["requests"]?.intValue == 1 }
            let model = try #require(try await h.json("/stats")["models"]?["claude-sonnet-4-6"])
            // Sonnet: $3 input, $6 an hour's write, $15 output (7 tokens), per million.
            let spent = (Double(total.input) * 3 + Double(total.cacheCreation1h) * 6 + 7 * 15) / 1e6
            #expect(abs((model["spent_usd"]?.doubleValue ?? 0) - spent) < 1e-9, "\(model)")
            #expect(abs((model["saved_provider_cache_usd"]?.doubleValue ?? 0) + Double(total.cacheCreation1h) * 3 / 1e6) < 1e-9)
        }
    }

    @Test("a marked stream, native or translated, is recorded and replayed byte for byte")
    func streamsReplay() async throws {
        try await Harness.run(upstream: FakeUpstream(billing: PromptCacheBilling()), configure: Self.routed) { h in
            for turn in 0..<2 {
                _ = try await h.post("/v1/messages", Self.native(turn: turn, session: "s", stream: true), headers: Self.headers("sk-s"))
            }
            let body = Self.native(turn: 2, session: "s", stream: true)
            let live = try await h.post("/v1/messages", body, headers: Self.headers("sk-s"))
            expectCache(live, "MISS")
            let nativeMarked = h.upstream.lastBody.contains("cache_control")
            #expect(nativeMarked)
            #expect(live.text.contains(#""cache_read_input_tokens":"#))
            try await eventually { try await h.post("/v1/messages", body, headers: Self.headers("sk-s")).xCache == "HIT" }
            #expect(try await h.post("/v1/messages", body, headers: Self.headers("sk-s")).text == live.text)

            func chat(_ turn: Int) -> String {
                Self.chat(turn: turn, session: "s").replacingOccurrences(of: #""model":"#, with: #""stream":true,"model":"#)
            }
            for turn in 0..<2 { _ = try await h.post("/v1/chat/completions", chat(turn), headers: Self.headers("sk-s")) }
            let translated = try await h.post("/v1/chat/completions", chat(2), headers: Self.headers("sk-s"))
            expectCache(translated, "MISS")
            let translatedMarked = h.upstream.lastBody.contains("cache_control")
            #expect(translatedMarked)
            try await eventually { try await h.post("/v1/chat/completions", chat(2), headers: Self.headers("sk-s")).xCache == "HIT" }
            #expect(try await h.post("/v1/chat/completions", chat(2), headers: Self.headers("sk-s")).text == translated.text)
        }
    }
}

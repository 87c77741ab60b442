import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import Testing

/// OpenAI's `prompt_cache_key`, set on long requests that carry none: the same for a
/// shared prefix and credential, never the client's key replaced, never in the cache key.
@Suite("OpenAI prompt_cache_key")
struct PromptCacheKeyTests {
    /// About 1,500 tokens in 6.8 KB: counted, not assumed.
    static let longSystem = String(repeating: "The quick brown fox jumps over the lazy dog, again and again. ", count: 110)

    static func chat(system: String = longSystem, user: String, extra: String = "") -> String {
        #"{"model":"gpt-4o","messages":[{"role":"system","content":"\#(system)"},{"role":"user","content":"\#(user)"}]\#(extra)}"#
    }

    /// The `prompt_cache_key` of the last request the upstream got, or nil.
    static func sentKey(_ h: Harness) throws -> String? {
        try JSONValue.parse(h.upstream.lastBody)["prompt_cache_key"]?.stringValue
    }

    @Test("a long chat gets one key per credential and stable prefix; the client's own key and short prompts are left alone")
    func chatKeys() async throws {
        try await Harness.run { h in
            expectCache(try await h.post("/v1/chat/completions", Self.chat(user: "first question")), "MISS")
            let first = try #require(try Self.sentKey(h))
            #expect(first.hasPrefix("cachette-") && first.count <= 64 && first.count == 41)
            #expect(!first.contains("sk-test"), "no credential in it")
            // Another turn on the same prefix: the same key. The cache key is the client's: a repeat is a HIT.
            expectCache(try await h.post("/v1/chat/completions", Self.chat(user: "second question")), "MISS")
            #expect(try Self.sentKey(h) == first)
            expectCache(try await h.post("/v1/chat/completions", Self.chat(user: "first question")), "HIT")
            // Another prefix, another credential: other keys.
            expectCache(try await h.post("/v1/chat/completions", Self.chat(system: "Other. " + Self.longSystem, user: "first question")), "MISS")
            let otherPrefix = try #require(try Self.sentKey(h))
            _ = try await h.post("/v1/chat/completions", Self.chat(user: "first question"), headers: [.authorization: "Bearer sk-test-two"])
            let otherCredential = try #require(try Self.sentKey(h))
            #expect(Set([first, otherPrefix, otherCredential]).count == 3)
            // The client's own key wins; a short prompt gets none.
            _ = try await h.post("/v1/chat/completions", Self.chat(user: "third", extra: #","prompt_cache_key":"mine""#))
            #expect(try Self.sentKey(h) == "mine")
            _ = try await h.post("/v1/chat/completions", Self.chat(system: "Be brief.", user: "short"))
            #expect(try Self.sentKey(h) == nil)
        }
    }

    @Test("Responses: keyed on the instructions; x-cachette-prompt-cache: off and prompt_cache.openai: off send none; a bad value is a 400")
    func responsesAndOff() async throws {
        @Sendable func responses(_ input: String) -> String {
            #"{"model":"gpt-4o","instructions":"\#(Self.longSystem)","input":"\#(input)"}"#
        }
        try await Harness.run { h in
            _ = try await h.post("/v1/responses", responses("one"))
            let first = try #require(try Self.sentKey(h))
            _ = try await h.post("/v1/responses", responses("two"))
            #expect(try Self.sentKey(h) == first)
            let off = HTTPField.Name("x-cachette-prompt-cache")!
            _ = try await h.post("/v1/chat/completions", Self.chat(user: "not keyed"), headers: [off: "off"])
            #expect(try Self.sentKey(h) == nil)
            #expect(!h.upstream.lastHeaders.contains { $0.name == off }, "x-cachette-* is not forwarded")
            let bad = try await h.post("/v1/chat/completions", Self.chat(user: "x"), headers: [off: "sometimes"])
            #expect(bad.status == .badRequest && bad.text.contains("invalid_prompt_cache"))
        }
        try await Harness.run(configure: { $0.promptCache.openai = .off }) { h in
            _ = try await h.post("/v1/chat/completions", Self.chat(user: "configured off"))
            #expect(try Self.sentKey(h) == nil)
        }
    }

    @Test("a request translated for an Anthropic upstream gets no prompt_cache_key")
    func notForAnthropic() async throws {
        try await Harness.run(configure: AnthropicMessagesTests.routed) { h in
            let body = Self.chat(user: "hello").replacingOccurrences(of: "gpt-4o", with: "claude-sonnet-4-6")
            let response = try await h.post("/v1/chat/completions", body)
            #expect(response.status == .ok, "\(response.text)")
            #expect(!h.upstream.lastBody.contains("prompt_cache_key"))
        }
    }
}

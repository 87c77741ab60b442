@testable import CachetteCore
import Testing

@Suite("Texts left out of the key")
struct KeyIgnoreTests {
    static func messages(system: String) -> String {
        #"{"model":"claude-sonnet-4-6","max_tokens":64,"system":\#(system),"messages":[{"role":"user","content":"hi"}]}"#
    }

    static func key(_ body: String, ignore: KeyIgnore = KeyIgnore()) throws -> CacheKey {
        try RequestKeyer(ignore: ignore).key(route: "/v1/messages", scope: "sk-a", body: Array(body.utf8)).key
    }

    @Test("Claude Code's billing header block is left out: requests that differ only in cch share a key, others do not")
    func billingHeader() throws {
        let prompt = #"{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}"#
        func body(_ cch: String) -> String {
            Self.messages(system: #"[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.3; cch=\#(cch);"},\#(prompt)]"#)
        }
        let first = try Self.key(body("a1b2c"))
        #expect(try Self.key(body("f00d5")) == first)
        // The key is that of the request without the block.
        #expect(try Self.key(Self.messages(system: "[\(prompt)]")) == first)
        #expect(try Self.key(Self.messages(system: #"[{"type":"text","text":"You are someone else."}]"#)) != first)
        // A system string that is only the header, and a chat system message holding it.
        #expect(try Self.key(Self.messages(system: #""x-anthropic-billing-header: cch=1""#)) == Self.key(Self.messages(system: "[]")))
        func chat(_ system: String) -> String {
            #"{"model":"gpt-4o","messages":[\#(system){"role":"user","content":"hi"}]}"#
        }
        #expect(
            try Self.key(chat(#"{"role":"system","content":"x-anthropic-billing-header: cch=1"},"#))
                == Self.key(chat(#"{"role":"system","content":[{"type":"text","text":"x-anthropic-billing-header: cch=2"}]},"#)))
        #expect(try Self.key(chat(#"{"role":"system","content":"x-anthropic-billing-header: cch=1"},"#)) == Self.key(chat("")))
        // The same text from the user is part of the prompt.
        #expect(try Self.key(chat(#"{"role":"user","content":"x-anthropic-billing-header: cch=1"},"#)) != Self.key(chat("")))
    }

    @Test("cache.key_ignore: whole texts matching a glob are left out, escapes and leading * included; nothing else changes")
    func patterns() throws {
        let ignore = KeyIgnore(patterns: ["request-id: *", #"*"quoted" stamp"#])
        func body(_ text: String) -> String { Self.messages(system: #"[{"type":"text","text":"\#(text)"},{"type":"text","text":"Be brief."}]"#) }
        let plain = try Self.key(Self.messages(system: #"[{"type":"text","text":"Be brief."}]"#), ignore: ignore)
        #expect(try Self.key(body("request-id: 42"), ignore: ignore) == plain)
        #expect(try Self.key(body(#"at 12:00 \"quoted\" stamp"#), ignore: ignore) == plain)
        #expect(try Self.key(body("request-id: 42"), ignore: KeyIgnore()) != plain, "not ignored without the pattern")
        #expect(try Self.key(body("a request-id: 42"), ignore: ignore) != plain, "a glob matches the whole text")
        // A request with nothing ignored keys exactly as before.
        let untouched = Self.messages(system: #"[{"type":"text","text":"Be brief."}]"#)
        let canonical = Array("/v1/messages".utf8) + [0] + Array("sk-a".utf8) + [0] + (try CanonicalJSONWriter.canonicalize(Array(untouched.utf8)))
        #expect(try Self.key(untouched, ignore: ignore) == CacheKey(hashing: canonical))
    }
}

@testable import CachetteCore
import Testing

@Suite("OpenAI prompt_cache_key: when a prompt is long enough")
struct PromptCacheKeyLengthTests {
    let tokenizer = try! Tokenizer.shared(.o200k)

    @Test("fewer bytes than 1,024 never; 16 KB always; between, counted")
    func thresholds() {
        #expect(!PromptCacheKey.long([String(repeating: "a", count: 1000)], tokenizer: tokenizer))
        // 2.1 KB of a repeated word is about 350 tokens: counted, and too short.
        #expect(!PromptCacheKey.long([String(repeating: "hello ", count: 350)], tokenizer: tokenizer))
        #expect(PromptCacheKey.long([String(repeating: "hello world, ", count: 700)], tokenizer: tokenizer))
        #expect(PromptCacheKey.long(Array(repeating: String(repeating: "z", count: 1024), count: 16), tokenizer: tokenizer))
    }

    @Test("the stable prefix is the tools and the leading system messages, not the conversation")
    func stablePrefix() throws {
        let a = try JSONValue.parse(#"{"tools":[{"type":"function"}],"messages":[{"role":"system","content":"S"},{"role":"user","content":"one"}]}"#)
        let b = try JSONValue.parse(#"{"tools":[{"type":"function"}],"messages":[{"role":"system","content":"S"},{"role":"user","content":"two"}]}"#)
        let c = try JSONValue.parse(#"{"messages":[{"role":"system","content":"S"},{"role":"user","content":"one"}]}"#)
        #expect(PromptCacheKey.stablePrefix(a, responses: false) == PromptCacheKey.stablePrefix(b, responses: false))
        #expect(PromptCacheKey.stablePrefix(a, responses: false) != PromptCacheKey.stablePrefix(c, responses: false))
    }
}

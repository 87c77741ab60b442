@testable import CachetteCore
import Foundation
import Testing

@Suite("Chat token counting")
struct TokenCounterTests {
    /// The OpenAI cookbook's example conversation; its published counts are 129 (gpt-4) and 124 (gpt-4o).
    static let messages = try! JSONValue.parse(
        #"""
        [{"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
         {"role": "system", "name":"example_user", "content": "New synergies will help drive top-line growth."},
         {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
         {"role": "system", "name":"example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
         {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
         {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}]
        """#
    ).arrayValue!

    @Test("the cookbook's conversation counts as OpenAI publishes")
    func cookbook() throws {
        #expect(try TokenCounter.count(messages: Self.messages, model: "gpt-4-0613") == TokenCount(tokens: 129, encoding: .cl100k, estimated: false))
        #expect(try TokenCounter.count(messages: Self.messages, model: "gpt-4o") == TokenCount(tokens: 124, encoding: .o200k, estimated: false))
        #expect(try TokenCounter.count(messages: Self.messages, model: "some-local-model").estimated)
    }

    @Test("text parts are counted exactly, and images or tool calls make the count an estimate")
    func parts() throws {
        let text = try JSONValue.parse(#"[{"role":"user","content":[{"type":"text","text":"hello world"}]}]"#).arrayValue!
        let plain = try JSONValue.parse(#"[{"role":"user","content":"hello world"}]"#).arrayValue!
        #expect(try TokenCounter.count(messages: text, model: "gpt-4o") == TokenCounter.count(messages: plain, model: "gpt-4o"))
        let image = try JSONValue.parse(#"[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"x"}}]}]"#)
            .arrayValue!
        #expect(try TokenCounter.count(messages: image, model: "gpt-4o").estimated)
        #expect(try TokenCounter.count(text: "hello world", model: "gpt-4o") == TokenCount(tokens: 2, encoding: .o200k, estimated: false))
    }
}

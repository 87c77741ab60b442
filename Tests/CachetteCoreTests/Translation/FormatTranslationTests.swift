@testable import CachetteCore
import NIOCore
import Testing

@Suite("Format translations, looked up by (client, upstream)")
struct FormatTranslationTests {
    @Test("chat to Messages is the one pair; the same format, or the other way, has none")
    func lookup() throws {
        let chat = try #require(FormatTranslation.between(client: .openai, upstream: .anthropic))
        #expect(chat.path == "/v1/messages" && chat.upstreamShape == .message)
        #expect(FormatTranslation.between(client: .anthropic, upstream: .openai) == nil)
        #expect(FormatTranslation.between(client: .openai, upstream: .openai) == nil)
        #expect(FormatTranslation.between(client: .anthropic, upstream: .anthropic) == nil)
        let request = try chat.request(JSONValue.parse(#"{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"hi"}]}"#))
        #expect(request["max_tokens"] != nil && request["messages"]?.arrayValue?.count == 1)
        var stream = chat.stream(1_700_000_000, 1 << 20)
        _ = stream.feed(ByteBuffer(string: "event: ping\ndata: {\"type\":\"ping\"}\n\n"))
        #expect(stream.isFaithful)
    }
}

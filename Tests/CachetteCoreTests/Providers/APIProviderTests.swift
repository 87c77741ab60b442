import Testing

@testable import CachetteCore

@Suite("Each format's provider")
struct APIProviderTests {
    @Test("a format's own paths are found by prefix, and other paths belong to none")
    func ownPaths() {
        #expect(APIFormat.owning("/v1/messages/batches") == .anthropic)
        #expect(APIFormat.owning("/v1/messages/count_tokens") == .anthropic)
        #expect(APIFormat.owning("/v1/messages") == nil, "the cached route, routed by its model")
        #expect(APIFormat.owning("/v1/files") == nil)
    }

    @Test("each format names its credential header, its default headers and its dialect")
    func parts() {
        #expect(APIFormat.openai.provider.credentialHeader == ("authorization", "Bearer "))
        #expect(APIFormat.anthropic.provider.credentialHeader == ("x-api-key", ""))
        #expect(APIFormat.anthropic.provider.defaultHeaders.map(\.name) == ["anthropic-version"])
        #expect(APIFormat.openai.provider.defaultHeaders.isEmpty)
        #expect(APIFormat.openai.dialect == OpenAIDialect.self && APIFormat.anthropic.dialect == AnthropicDialect.self)
        for format in APIFormat.allCases {
            #expect(format.provider.versionPrefix == "/v1" && format.provider.modelList == ("data", "id"))
        }
    }

    @Test("each provider reads usage in its own fields, and both read the body's model member")
    func providersReadUsage() {
        let anthropic = Array(#"{"usage":{"input_tokens":10,"output_tokens":3,"cache_read_input_tokens":4}}"#.utf8)
        let usage = anthropic.withUnsafeBytes(APIFormat.anthropic.provider.usage)
        #expect(usage == TokenUsage(promptTokens: 14, completionTokens: 3, cachedPromptTokens: 4))
        let none = Array(#"{"usageMetadata":{"promptTokenCount":10}}"#.utf8)
        #expect(none.withUnsafeBytes(APIFormat.openai.provider.usage) == nil)
        #expect(APIFormat.allCases.allSatisfy { $0.provider.model == .body(member: "model") })
    }
}

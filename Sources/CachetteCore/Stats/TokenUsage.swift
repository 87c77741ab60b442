/// Token counts as the upstream reported them in `usage`.
public struct TokenUsage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// Prompt tokens the provider served from its own prompt cache
    /// (`prompt_tokens_details.cached_tokens`, Anthropic's `cache_read_input_tokens`).
    public var cachedPromptTokens: Int
    /// Prompt tokens written to the provider's prompt cache (Anthropic's
    /// `cache_creation_input_tokens`), which cost more than plain input.
    public var cacheWritePromptTokens: Int

    public init(promptTokens: Int = 0, completionTokens: Int = 0, cachedPromptTokens: Int = 0, cacheWritePromptTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.cacheWritePromptTokens = cacheWritePromptTokens
    }

    public static let zero = TokenUsage()

    public var total: Int { promptTokens + completionTokens }

    /// Reads `usage` from an OpenAI-style (prompt/completion_tokens) or
    /// Anthropic-style (input/output_tokens) response body. Nil when there is none.
    public init?(responseBody: UnsafeRawBufferPointer) {
        guard let usage = JSONValue.member("usage", of: responseBody) else { return nil }
        self.init(usage: usage)
    }

    public init?(usage: JSONValue) {
        guard usage.members != nil else { return nil }
        if let input = usage["input_tokens"]?.intValue {
            // Anthropic counts cache writes and reads apart from `input_tokens`; the prompt is all three.
            let written = usage["cache_creation_input_tokens"]?.intValue ?? 0
            let read = usage["cache_read_input_tokens"]?.intValue ?? 0
            self.init(
                promptTokens: input + written + read, completionTokens: usage["output_tokens"]?.intValue ?? 0, cachedPromptTokens: read,
                cacheWritePromptTokens: written
            )
            return
        }
        let prompt = usage["prompt_tokens"]?.intValue
        let completion = usage["completion_tokens"]?.intValue ?? usage["output_tokens"]?.intValue
        guard prompt != nil || completion != nil else { return nil }
        let cached = usage["prompt_tokens_details"]?["cached_tokens"]?.intValue
        // Set by Cachette's (and LiteLLM's) translation of Anthropic's usage.
        let written = usage["cache_creation_input_tokens"]?.intValue ?? 0
        self.init(promptTokens: prompt ?? 0, completionTokens: completion ?? 0, cachedPromptTokens: cached ?? 0, cacheWritePromptTokens: written)
    }
}

import Synchronization

/// Token counts as the upstream reported them in `usage`.
///
/// Every count read from an answer is clamped to `0...maxCount`, so no upstream value
/// (negative, fractional, past `Int64`) can overflow a sum or trap; each clamp is
/// counted in `clamps`, which /metrics and /stats show.
public struct TokenUsage: Sendable, Equatable {
    package var promptTokens: Int
    package var completionTokens: Int
    /// Prompt tokens the provider served from its own prompt cache
    /// (`prompt_tokens_details.cached_tokens`, Anthropic's `cache_read_input_tokens`).
    package var cachedPromptTokens: Int
    /// Prompt tokens written to the provider's prompt cache (Anthropic's
    /// `cache_creation_input_tokens`), which cost more than plain input.
    package var cacheWritePromptTokens: Int
    /// Of those, the ones written for an hour (`cache_creation.ephemeral_1h_input_tokens`).
    package var cacheWrite1hPromptTokens: Int

    /// No request comes near 2^32 tokens; at this bound the all-time sums of billions
    /// of requests still fit an `Int`.
    package static let maxCount = 1 << 32

    /// Usage values clamped since the process started (negative, too large, not whole).
    package static var clamps: Int { clampCounter.load(ordering: .relaxed) }
    private static let clampCounter = Atomic<Int>(0)

    package init(
        promptTokens: Int = 0, completionTokens: Int = 0, cachedPromptTokens: Int = 0, cacheWritePromptTokens: Int = 0,
        cacheWrite1hPromptTokens: Int = 0
    ) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.cacheWritePromptTokens = cacheWritePromptTokens
        self.cacheWrite1hPromptTokens = min(cacheWrite1hPromptTokens, cacheWritePromptTokens)
    }

    public static let zero = TokenUsage()

    public var total: Int { promptTokens + completionTokens }

    /// Reads `usage` from an OpenAI-style (prompt/completion_tokens), Responses-style
    /// (input/output_tokens with their `_details`) or Anthropic-style (input/output_tokens
    /// beside cache reads and writes) response body. Nil when there is none.
    package init?(responseBody: UnsafeRawBufferPointer) {
        guard let usage = JSONValue.member("usage", of: responseBody) else { return nil }
        self.init(usage: usage)
    }

    package init?(usage: JSONValue) {
        guard usage.members != nil else { return nil }
        if usage["input_tokens"] != nil, usage["input_tokens_details"] != nil || usage["output_tokens_details"] != nil {
            // OpenAI's Responses: `input_tokens` already includes the cached ones, and
            // `output_tokens` the reasoning ones.
            let input = Self.count(usage["input_tokens"])
            self.init(
                promptTokens: input, completionTokens: Self.count(usage["output_tokens"]),
                cachedPromptTokens: min(input, Self.count(usage["input_tokens_details"]?["cached_tokens"]))
            )
            return
        }
        if usage["input_tokens"] != nil {
            // Anthropic counts cache writes and reads apart from `input_tokens`; the prompt is all three.
            let input = Self.count(usage["input_tokens"])
            let written = Self.count(usage["cache_creation_input_tokens"])
            let read = Self.count(usage["cache_read_input_tokens"])
            self.init(
                promptTokens: input + written + read, completionTokens: Self.count(usage["output_tokens"]), cachedPromptTokens: read,
                cacheWritePromptTokens: written, cacheWrite1hPromptTokens: Self.count(usage["cache_creation"]?["ephemeral_1h_input_tokens"])
            )
            return
        }
        let completionValue = usage["completion_tokens"] ?? usage["output_tokens"]
        guard usage["prompt_tokens"] != nil || completionValue != nil else { return nil }
        self.init(
            promptTokens: Self.count(usage["prompt_tokens"]), completionTokens: Self.count(completionValue),
            cachedPromptTokens: Self.count(usage["prompt_tokens_details"]?["cached_tokens"]),
            // Set by Cachette's (and LiteLLM's) translation of Anthropic's usage.
            cacheWritePromptTokens: Self.count(usage["cache_creation_input_tokens"]),
            cacheWrite1hPromptTokens: Self.count(usage["cache_creation"]?["ephemeral_1h_input_tokens"])
        )
    }

    /// A count from an answer, clamped to `0...maxCount`; absent or null is 0.
    public static func count(_ value: JSONValue?) -> Int {
        guard let value, value != .null else { return 0 }
        if let exact = value.countValue { return exact }
        clampCounter.add(1, ordering: .relaxed)
        guard case .number(let text) = value else { return 0 }
        if text.hasPrefix("-") { return 0 }
        guard let double = Double(text), double.isFinite else { return 0 }
        return double >= Double(maxCount) ? maxCount : max(0, Int(double))
    }

    /// Whether every token count in a `usage` object (a member named `*_tokens`, in
    /// details too) is well formed. Other numbers (a provider's `cost`) are not counts.
    package static func isWellFormed(usage: JSONValue) -> Bool {
        guard case .object(let members) = usage else { return false }
        return members.allSatisfy { member in
            switch member.value {
            case .number: !member.key.hasSuffix("tokens") || member.value.countValue != nil
            case .object: isWellFormed(usage: member.value)
            default: true
            }
        }
    }
}

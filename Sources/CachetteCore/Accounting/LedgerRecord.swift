/// One request as the ledger keeps it.
package struct LedgerRecord: Sendable, Equatable {
    public var time: Double
    public var route: String
    public var model: String
    package var outcome: RequestOutcome
    /// For a hit: the tokens of the stored answer, which nobody paid for again.
    package var promptTokens: Int
    package var completionTokens: Int
    /// `prompt_tokens_details.cached_tokens`: prompt tokens the provider's own cache served.
    package var cachedPromptTokens: Int
    /// Prompt tokens written to the provider's prompt cache.
    package var cacheWritePromptTokens: Int
    /// Of those, the ones written for an hour; priced, not kept as a column.
    package var cacheWrite1hPromptTokens: Int
    package var savedCompressionTokens: Int
    /// The prompt's tokens as the client sent it, when compression saved some: the
    /// upstream's prompt tokens plus `savedCompressionTokens`; 0 otherwise.
    package var promptTokensBeforeCompression: Int
    /// The tokens were counted here because the upstream reported no usage.
    package var counted: Bool
    package var latencyMs: Double

    package init(
        time: Double, route: String, model: String, outcome: RequestOutcome, promptTokens: Int = 0, completionTokens: Int = 0,
        cachedPromptTokens: Int = 0, cacheWritePromptTokens: Int = 0, cacheWrite1hPromptTokens: Int = 0, savedCompressionTokens: Int = 0,
        promptTokensBeforeCompression: Int = 0, counted: Bool = false, latencyMs: Double = 0
    ) {
        self.time = time
        self.route = route
        self.model = model
        self.outcome = outcome
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.cacheWritePromptTokens = cacheWritePromptTokens
        self.cacheWrite1hPromptTokens = cacheWrite1hPromptTokens
        self.savedCompressionTokens = savedCompressionTokens
        self.promptTokensBeforeCompression = promptTokensBeforeCompression
        self.counted = counted
        self.latencyMs = latencyMs
    }

    var savedCacheTokens: Int { outcome == .hit ? promptTokens + completionTokens : 0 }
}

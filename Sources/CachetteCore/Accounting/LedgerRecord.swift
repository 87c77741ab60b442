/// One request as the ledger keeps it.
public struct LedgerRecord: Sendable, Equatable {
    public var time: Double
    public var route: String
    public var model: String
    public var outcome: RequestOutcome
    /// For a hit: the tokens of the stored answer, which nobody paid for again.
    public var promptTokens: Int
    public var completionTokens: Int
    /// `prompt_tokens_details.cached_tokens`: prompt tokens the provider's own cache served.
    public var cachedPromptTokens: Int
    /// Prompt tokens written to the provider's prompt cache.
    public var cacheWritePromptTokens: Int
    /// Of those, the ones written for an hour; priced, not kept as a column.
    public var cacheWrite1hPromptTokens: Int
    public var savedCompressionTokens: Int
    /// The prompt's tokens as the client sent it, when compression saved some: the
    /// upstream's prompt tokens plus `savedCompressionTokens`; 0 otherwise.
    public var promptTokensBeforeCompression: Int
    /// The tokens were counted here because the upstream reported no usage.
    public var counted: Bool
    public var latencyMs: Double

    public init(
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

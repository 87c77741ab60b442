import HTTPTypes

/// Header names the sidecar reads or writes, built once.
enum CachetteHeaders {
    static let xCache = HTTPField.Name("X-Cache")!
    static let key = HTTPField.Name("x-cachette-key")!
    static let tier = HTTPField.Name("x-cachette-tier")!
    static let ttl = HTTPField.Name("x-cachette-ttl")!
    static let compress = HTTPField.Name("x-cachette-compress")!
    static let promptCache = HTTPField.Name("x-cachette-prompt-cache")!
    static let tokensSaved = HTTPField.Name("x-cachette-tokens-saved")!
    static let xAPIKey = HTTPField.Name("x-api-key")!
    static let azureAPIKey = HTTPField.Name("api-key")!
    static let anthropicBeta = HTTPField.Name("anthropic-beta")!
    static let anthropicVersion = HTTPField.Name("anthropic-version")!
    static let googleAPIKey = HTTPField.Name("x-goog-api-key")!
    static let openAIOrganization = HTTPField.Name("openai-organization")!
    static let openAIProject = HTTPField.Name("openai-project")!
    static let frameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}

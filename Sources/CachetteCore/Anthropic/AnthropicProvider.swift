extension APIProvider {
    /// Anthropic's Messages API.
    package static let anthropic = APIProvider(
        credentialHeader: ("x-api-key", ""), defaultHeaders: [("anthropic-version", anthropicVersion)], ownPaths: ["/v1/messages/"],
        dialect: AnthropicDialect.self)

    /// The Messages API version sent when the client names none.
    package static let anthropicVersion = "2023-06-01"
}

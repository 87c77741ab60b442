extension APIProvider {
    /// OpenAI's API, and every server that speaks it.
    package static let openai = APIProvider(credentialHeader: ("authorization", "Bearer "), dialect: OpenAIDialect.self)
}

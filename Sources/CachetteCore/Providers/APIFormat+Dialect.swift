/// The formats' folders use `API/`'s protocols, so the map from a format to its parts
/// sits above them all.
extension APIFormat {
    /// How this format's streams are read, assembled and written.
    package var dialect: any StreamDialect.Type {
        switch self {
        case .openai: OpenAIDialect.self
        case .anthropic: AnthropicDialect.self
        }
    }
}

/// The wire format a request and its answer follow: the client's, and each upstream's.
public enum APIFormat: String, Sendable, CaseIterable {
    /// OpenAI's chat completions, completions and embeddings.
    case openai
    /// Anthropic's Messages.
    case anthropic

    /// How this format's streams are read, assembled and written.
    public var dialect: any StreamDialect.Type {
        switch self {
        case .openai: OpenAIDialect.self
        case .anthropic: AnthropicDialect.self
        }
    }
}

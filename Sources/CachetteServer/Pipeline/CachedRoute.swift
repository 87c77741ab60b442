import CachetteCore

/// The POST endpoints answered from the cache.
enum CachedRoute: String, Sendable, CaseIterable {
    case chatCompletions = "/v1/chat/completions"
    case completions = "/v1/completions"
    case embeddings = "/v1/embeddings"
    case messages = "/v1/messages"

    var path: String { rawValue }

    /// The wire format its clients speak, and so the upstreams it may go to.
    var format: APIFormat { self == .messages ? .anthropic : .openai }

    /// Chat and text completions carry prompts to compress; embeddings and Anthropic
    /// messages are sent as they came.
    var compresses: Bool { self == .chatCompletions || self == .completions }

    /// May go to an upstream of the other format, translated (chat to Anthropic's Messages).
    var translatable: Bool { self == .chatCompletions }

    /// What an answer must look like to be stored.
    var shape: AnswerShape {
        switch self {
        case .chatCompletions, .completions: .completion
        case .embeddings: .embedding
        case .messages: .message
        }
    }
}

import CachetteCore

/// The POST endpoints answered from the cache.
enum CachedRoute: String, Sendable, CaseIterable {
    case chatCompletions = "/v1/chat/completions"
    case completions = "/v1/completions"
    case embeddings = "/v1/embeddings"
    case messages = "/v1/messages"
    case responses = "/v1/responses"

    var path: String { rawValue }

    /// The wire format its clients speak, and so the upstreams it may go to.
    var format: APIFormat { self == .messages ? .anthropic : .openai }

    /// Chat and text completions and Responses carry prompts to compress; embeddings
    /// and Anthropic messages are sent as they came.
    var compresses: Bool { self == .chatCompletions || self == .completions || self == .responses }

    /// How its streams read and how its stored answers stream: the format's own, but
    /// Responses' typed events for `/v1/responses`.
    var dialect: any StreamDialect.Type { self == .responses ? ResponsesDialect.self : format.dialect }

    /// The request fields that never change its answer, and stay out of its key.
    var volatileFields: [String] { self == .responses ? RequestKeyer.responsesVolatileFields : RequestKeyer.volatileFields }

    /// Its streams take `stream_options.include_usage` (Responses streams always report usage, and refuse the option).
    var streamsTakeUsageOption: Bool { self == .chatCompletions || self == .completions }

    /// May go to an upstream of the other format, translated (chat to Anthropic's Messages).
    var translatable: Bool { self == .chatCompletions }

    /// What an answer must look like to be stored.
    var shape: AnswerShape {
        switch self {
        case .chatCompletions, .completions: .completion
        case .embeddings: .embedding
        case .messages: .message
        case .responses: .response
        }
    }
}

extension CachedRoute {
    /// `gen_ai.operation.name`.
    var operationName: String {
        switch self {
        case .chatCompletions, .messages, .responses: "chat"
        case .completions: "text_completion"
        case .embeddings: "embeddings"
        }
    }
}

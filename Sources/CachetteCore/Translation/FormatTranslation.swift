import NIOCore

/// How a request in one API format reaches an upstream that speaks another, and how the
/// upstream's answers, whole or streamed, come back in the client's format: one value
/// per (client format, upstream format), looked up, never passed around as a flag.
package struct FormatTranslation: Sendable {
    package let client: APIFormat
    public let upstream: APIFormat
    /// Where the translated request goes on the upstream.
    public let path: String
    /// What a 2xx answer from the upstream must be before it can be translated.
    package let upstreamShape: AnswerShape
    public let request: @Sendable (JSONValue) throws(InvalidRequest) -> JSONValue
    /// A 2xx answer, made at `created` (Unix seconds).
    public let answer: @Sendable (_ answer: JSONValue, _ created: Int) -> JSONValue
    /// An error answer, or nil when it has no counterpart in the client's format.
    public let error: @Sendable (JSONValue) -> JSONValue?
    public let stream: @Sendable (_ created: Int, _ maxEventBytes: Int) -> any StreamTranslating

    /// OpenAI chat completions to Anthropic's Messages.
    package static let chatToMessages = FormatTranslation(
        client: .openai, upstream: .anthropic, path: "/v1/messages", upstreamShape: .message,
        request: { request throws(InvalidRequest) in try MessagesRequestTranslator.translate(request) },
        answer: { MessagesAnswerTranslator.completion($0, created: $1) },
        error: { MessagesAnswerTranslator.error($0) },
        stream: { MessagesStreamTranslator(created: $0, maxEventBytes: $1) }
    )

    static let all = [chatToMessages]

    /// The translation from `client`'s format to `upstream`'s; nil when there is none.
    public static func between(client: APIFormat, upstream: APIFormat) -> FormatTranslation? {
        all.first { $0.client == client && $0.upstream == upstream }
    }
}

/// Rewrites one stream's events, as they arrive, into the client's format.
package protocol StreamTranslating: Sendable {
    mutating func feed(_ bytes: ByteBuffer) -> ByteBuffer
    /// Every event so far translated to its exact counterpart, so the stream may be stored.
    var isFaithful: Bool { get }
}

extension MessagesStreamTranslator: StreamTranslating {}

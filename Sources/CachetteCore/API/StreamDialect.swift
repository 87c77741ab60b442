import NIOCore

/// What one API format's event streams look like: how an upstream stream is read and
/// assembled into the non-streamed answer, how it ends, and the events a stream of a
/// stored whole answer, or of a failure, is made of. `StreamRecorder` does the rest,
/// the same for every format.
public protocol StreamDialect: Sendable {
    init()

    /// Reads one event of an upstream stream (never a comment or an oversized piece).
    /// - Parameter assembling: false once the stream cannot be kept: nothing to assemble.
    mutating func read(_ event: SSEEvent, assembling: Bool) -> StreamReading

    /// The non-streamed answer the events assembled into, if it is well formed.
    var answer: JSONValue? { get }

    /// Why a stream that stopped before its last event failed, as a sentence.
    static var missingEnd: String { get }

    /// The events a stream of `answer` would have carried; nil when it is not an answer
    /// of this format that streams (an embedding list).
    static func events(answering answer: JSONValue, includeUsage: Bool) -> [ByteBuffer]?

    /// The event that tells a client the stream failed.
    static func errorEvent(message: String, type: String, code: String, param: String?) -> ByteBuffer
}

/// What one event of an upstream stream was.
public enum StreamReading: Sendable, Equatable {
    /// Part of the answer: recorded and relayed. `usage` when the event reported the
    /// tokens, `isUsageOnly` for OpenAI's usage chunk (sent only to clients that asked).
    /// Not `keepable` when the stream can no longer be stored faithfully.
    case content(usage: TokenUsage?, isUsageOnly: Bool, keepable: Bool)
    /// The stream's last event, recorded and relayed; `usage` when it reports the tokens
    /// (Responses' `response.completed`).
    case end(keepable: Bool, usage: TokenUsage? = nil)
    /// A keep-alive: relayed, never recorded.
    case keepAlive
    /// The upstream's error event. `inShape` when clients can read it as this format's
    /// error, so they need no second one.
    case failure(reason: String, inShape: Bool)

    /// Recorded and relayed, but nothing of the answer can be assembled from it.
    static let unreadable = StreamReading.content(usage: nil, isUsageOnly: false, keepable: false)

    /// Every `usage` (and Anthropic's `message.usage`, Responses' `response.usage`) an
    /// event carries must hold well-formed counts: a later event's good value does not
    /// make an earlier bad one, replayed as it came, right.
    static func hasWellFormedUsage(_ event: JSONValue) -> Bool {
        for usage in [event["usage"], event["message"]?["usage"], event["response"]?["usage"]] {
            if let usage, usage != .null, !TokenUsage.isWellFormed(usage: usage) { return false }
        }
        return true
    }

    /// The upstream's error message, as the reason a stream failed.
    static func failure(_ error: JSONValue?) -> StreamReading {
        .failure(
            reason: error?["message"]?.stringValue.map { "The upstream stream failed: \($0)" } ?? "The upstream sent an error event.",
            inShape: error?.members != nil
        )
    }
}

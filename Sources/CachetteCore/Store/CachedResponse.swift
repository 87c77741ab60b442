import NIOCore

/// A stored upstream answer, ready to be written back out.
public struct CachedResponse: Sendable {
    public var status: Int
    public var contentType: String
    /// The uncompressed body; sharing it between hits copies nothing.
    public var body: ByteBuffer
    /// Unix seconds.
    public var createdAt: Double
    public var expiresAt: Double
    public var usage: TokenUsage
    /// For an answer recorded from a stream: its events, replayed to streaming requests.
    /// `body` is then the assembled non-streamed answer.
    package var events: RecordedStream?

    public init(
        status: Int, contentType: String, body: ByteBuffer, createdAt: Double, expiresAt: Double,
        usage: TokenUsage, events: RecordedStream? = nil
    ) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usage = usage
        self.events = events
    }

    /// Uncompressed bytes held in memory.
    public var size: Int { body.readableBytes + (events.map { $0.byteCount + 4 * $0.count } ?? 0) }

    package func isFresh(at now: Double) -> Bool { now < expiresAt }

    /// Whole seconds since the answer was stored, for the `Age` header, held to `0...2^31`
    /// as RFC 9111 asks of an age too large to represent: the time may have been read
    /// from a file or a shared row.
    package func age(at now: Double) -> Int { min(max(0, Int(saturating: now - createdAt)), Self.maxAge) }

    package static let maxAge = 1 << 31
}

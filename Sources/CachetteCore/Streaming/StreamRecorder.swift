import NIOCore

/// Watches an upstream SSE stream go by: splits it into events for relaying, records
/// them, has its format's dialect assemble the non-streamed answer and pick up `usage`,
/// and decides at the end whether the stream is whole enough to store. Only a stream
/// that reached its last event, carried no error event and assembled cleanly is.
public struct StreamRecorder: Sendable {
    /// One event to pass on, as its raw bytes.
    public struct Event: Sendable {
        public var bytes: ByteBuffer
        /// The usage-only chunk (`choices: []`), for clients that asked for it.
        package var isUsage: Bool
    }

    public enum End: Sendable {
        /// Reached its end. The recording and answer are nil when the stream could not be
        /// kept: larger than the limit, or events that do not assemble.
        case complete(RecordedStream?, answer: JSONValue?, usage: TokenUsage?)
        /// Cut short or refused by the upstream; the reason reads as a sentence.
        case failed(String)
    }

    private var parser: SSEParser
    private var dialect: any StreamDialect
    private var recording: RecordedStream? = RecordedStream()
    private let limit: Int
    package private(set) var usage: TokenUsage?
    /// Saw the stream's last event; anything after it is ignored.
    private var sawEnd = false
    private var failure: String?
    /// The upstream's own error event was already in the format's shape, so clients need no second one.
    package private(set) var sentErrorEvent = false

    /// - Parameters:
    ///   - limit: the most event bytes recorded; a longer stream is relayed but not kept.
    ///   - dialect: how the endpoint's events read (a format's own, unless the endpoint has its own).
    public init(limit: Int, dialect: any StreamDialect.Type) {
        self.limit = limit
        self.dialect = dialect.init()
        parser = SSEParser(maxEventBytes: limit)
    }

    public init(limit: Int, format: APIFormat = .openai) {
        self.init(limit: limit, dialect: format.dialect)
    }

    package var isRecording: Bool { recording != nil }

    public mutating func feed(_ buffer: ByteBuffer) -> [Event] {
        var out: [Event] = []
        for event in parser.feed(buffer.readableBytesView) where !sawEnd {
            let bytes = ByteBuffer(bytes: event.raw)
            var isUsage = false
            if event.isOversized || !Self.isUTF8(event.raw) {
                // Relayed as it came; an answer with it cannot be kept (or kept faithfully).
                recording = nil
            } else if !event.isComment {
                switch dialect.read(event, assembling: recording != nil) {
                case .content(let reported, let isUsageOnly, let keepable):
                    if let reported { usage = reported }
                    isUsage = isUsageOnly
                    if !keepable { recording = nil }
                    record(event.raw, isUsage: isUsage)
                case .end(let keepable, let reported):
                    sawEnd = true
                    if let reported { usage = reported }
                    if !keepable { recording = nil }
                    record(event.raw, isUsage: false)
                case .keepAlive:
                    break
                case .failure(let reason, let inShape):
                    failure = reason
                    sentErrorEvent = inShape
                    recording = nil
                }
            }
            out.append(Event(bytes: bytes, isUsage: isUsage))
        }
        return out
    }

    static func isUTF8(_ bytes: [UInt8]) -> Bool {
        // Most events are ASCII: checked without building a String.
        bytes.allSatisfy { $0 < 0x80 } || String(validating: bytes, as: UTF8.self) != nil
    }

    private mutating func record(_ raw: [UInt8], isUsage: Bool) {
        guard recording != nil else { return }
        if recording!.byteCount + raw.count > limit {
            recording = nil
        } else {
            recording!.append(raw, isUsage: isUsage)
        }
    }

    /// - Parameter error: why reading the upstream stopped early, if it did.
    public func end(error: String? = nil) -> End {
        if let error { return .failed(error) }
        if let failure { return .failed(failure) }
        guard sawEnd else { return .failed(type(of: dialect).missingEnd) }
        guard let recording, let answer = dialect.answer else { return .complete(nil, answer: nil, usage: usage) }
        return .complete(recording, answer: answer, usage: usage)
    }
}

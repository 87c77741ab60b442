import NIOCore

/// Watches an upstream SSE stream go by: splits it into events for relaying, records
/// them, assembles the non-streamed answer, picks up `usage`, and decides at the end
/// whether the stream is whole enough to store. Only a stream that reached its end
/// (OpenAI's `data: [DONE]`, Anthropic's `message_stop`), carried no error event and
/// assembled cleanly is.
public struct StreamRecorder: Sendable {
    /// Whose event sequence the stream follows.
    public enum Dialect: Sendable {
        /// `data:` chunks, a usage chunk, `data: [DONE]`.
        case openai
        /// Named events from `message_start` to `message_stop`; usage inside them.
        case anthropic
    }

    /// One event to pass on, as its raw bytes.
    public struct Event: Sendable {
        public var bytes: ByteBuffer
        /// The usage-only chunk (`choices: []`), for clients that asked for it.
        public var isUsage: Bool
    }

    public enum Outcome: Sendable {
        /// Reached its end. The recording and answer are nil when the stream could not be
        /// kept: larger than the limit, or chunks that do not assemble.
        case complete(RecordedStream?, answer: JSONValue?, usage: TokenUsage?)
        /// Cut short or refused by the upstream; the reason reads as a sentence.
        case failed(String)
    }

    private var parser: SSEParser
    private let dialect: Dialect
    private var accumulator = StreamAccumulator()
    private var messages = MessageStreamAccumulator()
    private var recording: RecordedStream? = RecordedStream()
    private let limit: Int
    public private(set) var usage: TokenUsage?
    /// Saw the stream's last event (`[DONE]` or `message_stop`); anything after it is ignored.
    public private(set) var sawEnd = false
    private var failure: String?
    /// The upstream's own error event was already in the dialect's shape, so clients need no second one.
    public private(set) var sentErrorEvent = false

    /// - Parameter limit: the most event bytes recorded; a longer stream is relayed but not kept.
    public init(limit: Int, dialect: Dialect = .openai) {
        self.limit = limit
        self.dialect = dialect
        parser = SSEParser(maxEventBytes: limit)
    }

    public var isRecording: Bool { recording != nil }

    public mutating func feed(_ buffer: ByteBuffer) -> [Event] {
        var out: [Event] = []
        for event in parser.feed(buffer.readableBytesView) where !sawEnd {
            let bytes = ByteBuffer(bytes: event.raw)
            if event.isOversized || !Self.isUTF8(event.raw) {
                // Relayed as it came; an answer with it cannot be kept (or kept faithfully).
                recording = nil
                out.append(Event(bytes: bytes, isUsage: false))
                continue
            }
            if event.isComment {
                out.append(Event(bytes: bytes, isUsage: false))
                continue
            }
            if dialect == .anthropic {
                out.append(anthropic(event, bytes: bytes))
                continue
            }
            if event.isDone {
                sawEnd = true
                record(event.raw, isUsage: false)
                out.append(Event(bytes: bytes, isUsage: false))
                continue
            }
            let chunk = try? JSONValue.parse(Array(event.data.utf8))
            if event.name == "error" || (chunk?["error"].map { $0 != .null } ?? false) {
                failure = chunk?["error"]?["message"]?.stringValue.map { "The upstream stream failed: \($0)" }
                    ?? "The upstream sent an error event."
                sentErrorEvent = chunk?["error"]?.members != nil
                recording = nil
                out.append(Event(bytes: bytes, isUsage: false))
                continue
            }
            var isUsage = false
            if let chunk, !Self.hasWellFormedUsage(chunk) { recording = nil }
            if let chunk {
                if let reported = chunk["usage"], let parsed = TokenUsage(usage: reported) {
                    usage = parsed
                    isUsage = chunk["choices"]?.arrayValue?.isEmpty ?? true
                }
                // Once the stream cannot be kept, there is no answer to assemble.
                if recording != nil {
                    do {
                        try accumulator.add(chunk)
                    } catch {
                        recording = nil
                    }
                }
            } else {
                recording = nil  // not JSON: relayed as it is, but there is no answer to assemble
            }
            record(event.raw, isUsage: isUsage)
            out.append(Event(bytes: bytes, isUsage: isUsage))
        }
        return out
    }

    private mutating func anthropic(_ event: SSEEvent, bytes: ByteBuffer) -> Event {
        let data = try? JSONValue.parse(Array(event.data.utf8))
        let type = data?["type"]?.stringValue ?? event.name
        switch type {
        case "error":
            failure = data?["error"]?["message"]?.stringValue.map { "The upstream stream failed: \($0)" } ?? "The upstream sent an error event."
            sentErrorEvent = data?["error"]?.members != nil
            recording = nil
            return Event(bytes: bytes, isUsage: false)
        case "ping":
            return Event(bytes: bytes, isUsage: false)  // a keep-alive: relayed, not recorded
        case "message_stop":
            sawEnd = true
        default:
            break
        }
        if let data {
            if !Self.hasWellFormedUsage(data) { recording = nil }
            do {
                try messages.add(data)
                if let reported = messages.usage { usage = TokenUsage(usage: reported) }
            } catch {
                recording = nil
            }
        } else {
            recording = nil
        }
        record(event.raw, isUsage: false)
        return Event(bytes: bytes, isUsage: false)
    }

    /// Every event's `usage` (and `message.usage`) must hold well-formed counts: a later
    /// event's good value does not make an earlier bad one, replayed as it came, right.
    static func hasWellFormedUsage(_ event: JSONValue) -> Bool {
        for usage in [event["usage"], event["message"]?["usage"]] {
            if let usage, usage != .null, !TokenUsage.isWellFormed(usage: usage) { return false }
        }
        return true
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
    public func end(error: String? = nil) -> Outcome {
        if let error { return .failed(error) }
        if let failure { return .failed(failure) }
        switch dialect {
        case .openai:
            guard sawEnd else { return .failed("The upstream stream ended before data: [DONE].") }
            guard let recording, accumulator.chunkCount > 0 else { return .complete(nil, answer: nil, usage: usage) }
            let answer = accumulator.result
            guard AnswerShape.completion.problem(in: answer) == nil else { return .complete(nil, answer: nil, usage: usage) }
            return .complete(recording, answer: answer, usage: usage)
        case .anthropic:
            guard sawEnd else { return .failed("The upstream stream ended before message_stop.") }
            guard let recording, let message = messages.result, AnswerShape.message.problem(in: message) == nil else {
                return .complete(nil, answer: nil, usage: usage)
            }
            return .complete(recording, answer: message, usage: usage)
        }
    }
}

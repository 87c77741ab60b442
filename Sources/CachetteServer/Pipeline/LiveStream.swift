import AsyncHTTPClient
import CachetteCore
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// One upstream stream: relayed to every client reading it as events arrive, recorded
/// as it passes, and handed (with how it ended) to `relay`'s `onEnd` for storing.
///
/// The upstream is read by a task of its own, not by any client, so a client that
/// goes away neither cuts the others off nor (with `stream.finish_on_disconnect`)
/// loses the answer being paid for.
final class LiveStream: Sendable {
    /// `stream:` settings.
    struct Settings: Sendable {
        /// `stream.max_buffered_bytes`: the most of one stream held, per stream.
        var maxBufferedBytes: Int
        /// `stream.finish_on_disconnect`.
        var finishOnDisconnect: Bool
    }

    /// How the upstream stream ended: handed to the request that started it (to store
    /// and book), and kept for the requests that joined it.
    struct End: Sendable {
        /// Why it did not reach its end; nil when it did.
        var failure: APIError?
        /// The assembled non-streamed JSON, when the stream could be kept.
        var answer: ByteBuffer?
        var usage: TokenUsage?
        /// The tokens were counted here: the stream reported none.
        var counted = false
        /// The events to store: set only for a clean stream within
        /// `stream.max_buffered_bytes` (and, translated, a well-formed message).
        var recording: RecordedStream?

        static func failed(_ error: APIError, usage: TokenUsage? = nil) -> End { End(failure: error, usage: usage) }
    }

    let status: HTTPResponse.Status
    let headers: HTTPFields
    let broadcast: StreamBroadcast
    /// The reader opened for the request that started the flight, before any event could pass it by.
    let leaderReader: Int
    /// Whose event sequence the clients are sent (after any translation).
    private let dialect: any StreamDialect.Type
    private let finishOnDisconnect: Bool
    /// Prompt tokens compression took off the forwarded request, shown to the request that made it.
    let tokensSaved: Int
    private let ending = Mutex<End?>(nil)
    private let producer = Mutex<Task<Void, Never>?>(nil)
    private let audience: Mutex<Audience>
    /// Books the stream's events besides requests (failures, slow clients).
    private let accounting: Accounting

    init(
        status: HTTPResponse.Status, headers: HTTPFields, dialect: any StreamDialect.Type, includeUsage: Bool, tokensSaved: Int,
        settings: Settings, accounting: Accounting
    ) {
        self.tokensSaved = tokensSaved
        self.dialect = dialect
        self.status = status
        self.headers = headers
        self.broadcast = StreamBroadcast(capacity: settings.maxBufferedBytes)
        // A fresh broadcast always admits its first reader.
        self.leaderReader = broadcast.subscribe(includeUsage: includeUsage) ?? 0
        self.audience = Mutex(Audience(open: [leaderReader]))
        self.finishOnDisconnect = settings.finishOnDisconnect
        self.accounting = accounting
    }

    /// How the stream ended; nil until it has.
    var end: End? { ending.withLock { $0 } }

    /// Starts reading the upstream's body in a task of its own. `idle`, when set, is the
    /// longest the upstream may stay silent (`UpstreamClient.idleLimit`); `onEnd` runs once,
    /// before any joiner learns the end, so what it stores is found by the next request.
    func relay(
        _ body: HTTPClientResponse.Body, for outbound: Forwarder.Outbound, translator: (any StreamTranslating)?, failure: UpstreamFailure,
        idle: Duration?, logger: Logger, onEnd: @escaping @Sendable (End) -> Void
    ) {
        let watchdog = idle.map { IdleWatchdog(idle: $0) }
        producer.withLock { task in
            let reading = Task {
                defer { watchdog?.stop() }
                let (end, trailer) = await read(
                    body, for: outbound, watchdog: watchdog, translator: translator, failure: failure, logger: logger)
                onEnd(end)
                if end.failure == nil { settle { $0.complete = true } }
                // Set before readers are told the stream is over, so they can read it.
                ending.withLock { $0 = end }
                broadcast.finish(trailer: trailer)
            }
            watchdog?.start { reading.cancel() }
            task = reading
        }
    }

    /// Reads the upstream to its end, publishing each event as it arrives.
    private func read(
        _ body: HTTPClientResponse.Body, for outbound: Forwarder.Outbound, watchdog: IdleWatchdog?, translator: (any StreamTranslating)?,
        failure: UpstreamFailure, logger: Logger
    ) async -> (End, trailer: ByteBuffer?) {
        var recorder = StreamRecorder(limit: broadcast.capacity, dialect: dialect)
        var translator = translator
        var readError: APIError?
        do {
            for try await buffer in WatchedBody(base: body, watchdog: watchdog) {
                let events = recorder.feed(translator?.feed(buffer) ?? buffer)
                let cut = await broadcast.publish(events, patience: Self.readerPatience)
                for _ in 0..<cut { accounting.note(.slowClientDropped) }
                if !recorder.isRecording { broadcast.stopRetaining() }
                if Task.isCancelled { break }
            }
        } catch {
            readError = failure.streamError(error, logger: logger)
        }
        // Cancelled by the watchdog: the upstream fell silent, a failure like any other.
        if watchdog?.expired == true {
            readError = failure.streamError(HTTPClientError.readTimeout, logger: logger)
        } else if Task.isCancelled {
            // Every client left and `finish_on_disconnect` is off: nothing is kept.
            let cancelled = APIError(status: .badGateway, message: "The stream was cancelled.", type: "upstream_error", code: "stream_cancelled")
            return (.failed(cancelled), nil)
        }
        switch recorder.end(error: readError?.message) {
        case .complete(let recording, let answer, var usage):
            // No usage chunk (an upstream that ignores include_usage): count the tokens here.
            var counted = false
            if usage == nil, let answer {
                usage = outbound.countedUsage(answer)
                counted = usage != nil
            }
            let answerBytes = answer.map { ByteBuffer(bytes: $0.serialized()) }
            if let answerBytes { outbound.answered(answerBytes) }
            // A translation of a stream that was not a well-formed message is relayed, not kept.
            let kept = answerBytes != nil && (translator?.isFaithful ?? true) ? recording : nil
            return (End(answer: answerBytes, usage: usage, counted: counted, recording: kept), nil)
        case .failed(let reason):
            accounting.note(.failed)
            let error = readError ?? APIError(status: .badGateway, message: reason, type: "upstream_error", code: "upstream_stream_failed")
            logger.warning("upstream stream failed; nothing stored", metadata: ["reason": "\(error.message)"])
            return (.failed(error, usage: recorder.usage), recorder.sentErrorEvent ? nil : event(error))
        }
    }

    /// A new reader from the first event for a joining client, or nil once joining is closed.
    func join(includeUsage: Bool) -> Int? {
        audience.withLock { a in
            let reader = broadcast.subscribe(includeUsage: includeUsage)
            if let reader { a.open.insert(reader) }
            return reader
        }
    }

    /// A client stopped reading; without `finish_on_disconnect` the last one cancels the upstream.
    func leave(_ reader: Int) {
        let last = broadcast.leave(reader)
        settle { $0.open.remove(reader) }
        guard last, !finishOnDisconnect else { return }
        producer.withLock { $0?.cancel() }
    }

    /// Who is still reading, and whether anyone read the stream to its end.
    private struct Audience {
        var open: Set<Int>
        var complete = false
        var delivered = false
        var counted = false
    }

    /// A complete stream that no client read to its end finished after disconnect. The
    /// sidecar may learn that its last client left only after the end (the next write
    /// fails, or an unwritten response is dropped), so this is judged on either event.
    /// A client has read to the end (`delivered`), or stopped without error before it.
    func done(_ reader: Int, delivered: Bool) {
        settle { a in
            a.open.remove(reader)
            if delivered { a.delivered = true }
        }
    }

    private func settle(_ change: (inout Audience) -> Void) {
        let abandoned = audience.withLock { a in
            change(&a)
            guard a.complete, a.open.isEmpty, !a.delivered, !a.counted else { return false }
            a.counted = true
            return true
        }
        if abandoned { accounting.note(.finishedAfterDisconnect) }
    }

    /// Waits for the end of the stream, for a non-streaming request that joined it.
    /// Nil when the stream outgrew what is kept and so cannot be joined.
    func completion() async -> End? {
        await broadcast.closedToJoiners()
        return end
    }

    /// The event that tells a client the stream failed, in the stream's own shape.
    func event(_ error: APIError) -> ByteBuffer {
        dialect.errorEvent(message: error.message, type: error.type, code: error.code, param: error.param)
    }

    /// How long a client `stream.max_buffered_bytes` behind may take nothing before it is
    /// cut off; until then the stream waits for it.
    static let readerPatience: Duration = .seconds(2)

    static let tooSlow = APIError(
        status: .badGateway,
        message: "This client stopped reading while stream.max_buffered_bytes behind the stream, and was cut off.",
        type: "upstream_error", code: "stream_reader_too_slow"
    )
}

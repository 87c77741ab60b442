import AsyncHTTPClient
import CachetteCore
import Hummingbird
import NIOCore
import Synchronization

/// One upstream stream: relayed to every client reading it as events arrive, recorded
/// as it passes, and handed to `onComplete` for storing when it ends cleanly.
///
/// The upstream is read by a task of its own, not by any client, so a client that
/// goes away neither cuts the others off nor (with `stream.finish_on_disconnect`)
/// loses the answer being paid for.
final class StreamFlight: Sendable {
    enum Outcome: Sendable {
        /// Reached its end. `answer` is the assembled non-streamed JSON when the stream could be kept.
        case complete(answer: ByteBuffer?, usage: TokenUsage?)
        case failed(APIError)
    }

    /// What sending a streaming request produced.
    enum Started: Sendable {
        /// The upstream answered with something other than a 2xx event stream (an error,
        /// or a whole JSON answer): it is read in full and treated like any other answer.
        case answer(UpstreamAnswer, usage: TokenUsage?)
        case stream(StreamFlight)
    }

    let status: HTTPResponse.Status
    let headers: HTTPFields
    let broadcast: StreamBroadcast
    /// The reader opened for the request that started the flight, before any event could pass it by.
    let leaderReader: Int
    /// Whose event sequence the clients are sent (after any translation).
    private let dialect: StreamRecorder.Dialect
    private let finishOnDisconnect: Bool
    /// Prompt tokens compression took off the forwarded request, shown to the request that made it.
    private let tokensSaved: Int
    private let outcomeState = Mutex<Outcome?>(nil)
    private let producer = Mutex<Task<Void, Never>?>(nil)

    private init(
        status: HTTPResponse.Status, headers: HTTPFields, dialect: StreamRecorder.Dialect, includeUsage: Bool, tokensSaved: Int, sidecar: Sidecar
    ) {
        self.tokensSaved = tokensSaved
        self.dialect = dialect
        self.status = status
        self.headers = headers
        self.broadcast = StreamBroadcast(capacity: sidecar.config.stream.maxBufferedBytes)
        self.leaderReader = broadcast.subscribe(includeUsage: includeUsage)!
        self.finishOnDisconnect = sidecar.config.stream.finishOnDisconnect
    }

    var outcome: Outcome? { outcomeState.withLock { $0 } }

    /// Sends `outgoing`, a `stream: true` request made by `exchange`, and once the
    /// response head is in, starts relaying. `body` is the client's request, for
    /// counting tokens when the upstream reports none.
    static func start(
        _ outgoing: HTTPClientRequest, body: ByteBuffer, model: String, exchange: UpstreamExchange, includeUsage: Bool, tokensSaved: Int,
        sidecar: Sidecar,
        onComplete: @escaping @Sendable (RecordedStream, _ answer: ByteBuffer, TokenUsage?) -> Void,
        onEnd: @escaping @Sendable (TokenUsage?, _ failed: Bool, _ counted: Bool, Duration) -> Void
    ) async throws(APIError) -> Started {
        let response = try await sidecar.upstream.send(outgoing, route: exchange.route, logger: sidecar.logger)
        let status = HTTPResponse.Status(code: Int(response.status.code))
        var headers = ForwardedHeaders.response(response.headers)
        let isEventStream = headers[.contentType]?.lowercased().hasPrefix("text/event-stream") ?? false
        guard (200..<300).contains(status.code), isEventStream else {
            let answer = try exchange.answer(await sidecar.upstream.collect(response))
            return .answer(answer, usage: answer.body.withUnsafeReadableBytes { TokenUsage(responseBody: $0) })
        }
        if exchange.translates { headers[.contentLength] = nil }
        let flight = StreamFlight(
            status: status, headers: headers, dialect: exchange.dialect, includeUsage: includeUsage, tokensSaved: tokensSaved, sidecar: sidecar
        )
        let translator = exchange.streamTranslator(maxEventBytes: sidecar.config.stream.maxBufferedBytes)
        flight.producer.withLock { task in
            task = Task {
                await flight.relay(
                    response.body, translator: translator, requestBody: body, model: model, sidecar: sidecar, onComplete: onComplete, onEnd: onEnd
                )
            }
        }
        return .stream(flight)
    }

    /// Reads the upstream to its end, publishing each event as it arrives.
    private func relay(
        _ body: HTTPClientResponse.Body, translator: MessagesStreamTranslator?, requestBody: ByteBuffer, model: String, sidecar: Sidecar,
        onComplete: @Sendable (RecordedStream, ByteBuffer, TokenUsage?) -> Void,
        onEnd: @Sendable (TokenUsage?, _ failed: Bool, _ counted: Bool, Duration) -> Void
    ) async {
        let started = ContinuousClock.now
        var recorder = StreamRecorder(limit: broadcast.capacity, dialect: dialect)
        var translator = translator
        var readError: APIError?
        do {
            for try await buffer in body {
                let events = recorder.feed(translator?.feed(buffer) ?? buffer)
                let cut = await broadcast.publish(events, patience: Self.readerPatience)
                for _ in 0..<cut { sidecar.stats.record(.slowClientDropped) }
                if !recorder.isRecording { broadcast.stopRetaining() }
                if Task.isCancelled { break }
            }
        } catch {
            readError = UpstreamClient.classify(error)
        }
        if Task.isCancelled {
            // Every client left and `finish_on_disconnect` is off: nothing is kept.
            finish(.failed(APIError(status: .badGateway, message: "The stream was cancelled.", type: "upstream_error", code: "stream_cancelled")))
            onEnd(nil, true, false, ContinuousClock.now - started)
            return
        }
        switch recorder.end(error: readError?.message) {
        case .complete(let recording, let answer, var usage):
            // No usage chunk (an upstream that ignores include_usage): count the tokens here.
            let counted = usage == nil && answer != nil
            if usage == nil, let answer { usage = CachedEndpoint.countedUsage(request: requestBody, answer: answer, model: model) }
            if let usage { sidecar.stats.recordUpstreamUsage(usage) }
            onEnd(usage, false, counted && usage != nil, ContinuousClock.now - started)
            let answerBytes = answer.map { ByteBuffer(bytes: $0.serialized()) }
            // A translation of a stream that was not a well-formed message is relayed, not kept.
            if let recording, let answerBytes, translator?.isFaithful ?? true { onComplete(recording, answerBytes, usage) }
            if broadcast.readerCount == 0 { sidecar.stats.record(.finishedAfterDisconnect) }
            finish(.complete(answer: answerBytes, usage: usage))
        case .failed(let reason):
            sidecar.stats.record(.failed)
            onEnd(recorder.usage, true, false, ContinuousClock.now - started)
            let error = readError ?? APIError(status: .badGateway, message: reason, type: "upstream_error", code: "upstream_stream_failed")
            sidecar.logger.warning("upstream stream failed; nothing stored", metadata: ["reason": "\(error.message)"])
            finish(.failed(error), trailer: recorder.sentErrorEvent ? nil : event(error))
        }
    }

    /// The outcome is set before readers are told the stream is over, so they can read it.
    private func finish(_ outcome: Outcome, trailer: ByteBuffer? = nil) {
        outcomeState.withLock { $0 = outcome }
        broadcast.finish(trailer: trailer)
    }

    /// A client stopped reading; without `finish_on_disconnect` the last one cancels the upstream.
    func leave(_ reader: Int) {
        guard broadcast.leave(reader), !finishOnDisconnect else { return }
        producer.withLock { $0?.cancel() }
    }

    /// Waits for the end of the stream, for a non-streaming request that joined it.
    /// Nil when the stream outgrew what is kept and so cannot be joined.
    func completion() async -> Outcome? {
        await broadcast.closedToJoiners()
        return outcome
    }

    /// The event that tells a client the stream failed, in the stream's own shape.
    func event(_ error: APIError) -> ByteBuffer {
        switch dialect {
        case .openai:
            var event = ByteBuffer(string: "data: ")
            event.writeImmutableBuffer(error.body)
            event.writeString("\n\n")
            return event
        case .anthropic:
            return MessageEventSynthesizer.error(type: error.type == "invalid_request_error" ? error.type : "api_error", message: error.message)
        }
    }

    // MARK: Clients

    /// The response for one client reading from `reader`. `onEnd` gets the outcome once
    /// the client has everything, or nil if it left (or was cut off) before the end.
    func response(reader: Int, xCache: String, key: CacheKey, onEnd: @escaping @Sendable (Outcome?) -> Void = { _ in }) -> Response {
        var headers = self.headers
        headers[CachetteHeaders.xCache] = xCache
        headers[CachetteHeaders.key] = key.hex
        if reader == leaderReader && tokensSaved > 0 { headers[CachetteHeaders.tokensSaved] = String(tokensSaved) }
        let body = ResponseBody { [self] writer in
            var finished = false
            do {
                reading: while true {
                    switch await broadcast.next(reader) {
                    case .events(let batch):
                        try await writer.write(contentsOf: batch)
                    case .end(let trailer):
                        // A reader cancelled mid-wait (shutdown) did not reach the end: no clean finish.
                        try Task.checkCancellation()
                        if let trailer { try await writer.write(trailer) }
                        finished = true
                        break reading
                    case .cut:
                        try await writer.write(event(Self.tooSlow))
                        break reading
                    }
                }
                try await writer.finish(nil)
            } catch {
                leave(reader)
                onEnd(nil)
                throw error
            }
            onEnd(finished ? outcome : nil)
        }
        return Response(status: status, headers: headers, body: body)
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

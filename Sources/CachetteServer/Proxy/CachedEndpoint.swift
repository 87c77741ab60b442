import AsyncHTTPClient
import CachetteCore
import Foundation
import Hummingbird
import NIOCore

/// A cached POST endpoint (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`,
/// and Anthropic's `/v1/messages`).
///
/// The whole request path is here: read the body, key it (one pass, one hash), look the
/// key up (memory, then one indexed SQLite read), and on a hit write the stored bytes.
/// A miss makes one upstream call per key however many requests wait for it, and
/// stores a complete 2xx answer.
struct CachedEndpoint: Sendable {
    let route: String
    let sidecar: Sidecar
    /// Chat and text completions carry prompts to compress; embeddings and Anthropic
    /// messages are left as sent.
    private let compresses: Bool
    /// The wire format the route speaks, and so the upstreams it may go to.
    private let format: CachetteConfig.Route.Format
    /// What an answer must look like to be stored.
    private let shape: AnswerShape

    init(route: String, sidecar: Sidecar) {
        self.route = route
        self.sidecar = sidecar
        compresses = route == "/v1/chat/completions" || route == "/v1/completions"
        format = route == "/v1/messages" ? .anthropic : .openai
        shape = AnswerShape(path: route) ?? .completion
    }

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await RequestAccount.$started.withValue(started) { try await handle(request) }
        sidecar.metrics.duration(route: route, ContinuousClock.now - started)
        // Logged with the credential's fingerprint, never the credential.
        context.logger.debug(
            "request",
            metadata: [
                "route": "\(route)",
                "status": "\(response.status.code)",
                "cache": "\(response.headers[CachetteHeaders.xCache] ?? "-")",
                "key": "\(response.headers[CachetteHeaders.key] ?? "-")",
                "credential": "\(sidecar.fingerprint.of(sidecar.scope.credential(request.headers)))",
                "ms": "\((ContinuousClock.now - started).seconds * 1000)",
            ]
        )
        return response
    }

    private func handle(_ request: Request) async throws -> Response {
        let body: ByteBuffer, controls: CacheControls, keyed: KeyedRequest, level: CompressionLevel
        do {
            body = try await read(request)
            controls = try CacheControls(request.headers)
            level = compresses ? controls.compression ?? sidecar.config.compression.level : .off
            keyed = try key(body, scope: sidecar.scope.scope(request.head, level: level))
        } catch {
            RequestAccount(sidecar: sidecar, route: route, model: "", streamed: false).rejected()
            throw error
        }

        guard let store = sidecar.store else {
            return try await forward(request, body: body, keyed: keyed, level: level, outcome: "BYPASS")
        }
        let now = Date().timeIntervalSince1970
        if !controls.noCache, let hit = store.lookup(keyed.key, now: now) {
            account(keyed).hit(hit.usage)
            return Self.response(for: hit, key: keyed.key, now: now, keyed: keyed)
        }
        if controls.noCache {
            return try await forward(request, body: body, keyed: keyed, level: level, outcome: "BYPASS", storeIn: store, controls: controls)
        }
        let staleWindow = controls.staleIfError ?? sidecar.config.cache.staleIfError.seconds
        return try await servingStaleOnFailure(keyed, store: store, window: staleWindow) {
            try await missOrJoin(request, body: body, keyed: keyed, level: level, store: store, controls: controls)
        }
    }

    // MARK: Stale

    /// stale-if-error (RFC 5861): when the upstream answers 5xx or 429, times out or
    /// cannot be reached, an answer past its TTL by less than `window` is served
    /// instead (`X-Cache: STALE`). The request stays booked as the failed miss it was.
    private func servingStaleOnFailure(
        _ keyed: KeyedRequest, store: CacheStore, window: Double, _ miss: () async throws -> Response
    ) async throws -> Response {
        let response: Response
        do {
            response = try await miss()
        } catch let error as APIError where error.status == .badGateway || error.status == .gatewayTimeout {
            guard let stale = staleResponse(keyed, store: store, window: window) else { throw error }
            return stale
        }
        let code = response.status.code
        guard code >= 500 || code == 429, let stale = staleResponse(keyed, store: store, window: window) else { return response }
        return stale
    }

    private func staleResponse(_ keyed: KeyedRequest, store: CacheStore, window: Double) -> Response? {
        let now = Date().timeIntervalSince1970
        guard let entry = store.lookupStale(keyed.key, now: now, within: window) else { return nil }
        sidecar.stats.record(.staleServed)
        sidecar.metrics.staleServed.increment()
        var response = Self.response(for: entry, key: keyed.key, now: now, keyed: keyed)
        response.headers[CachetteHeaders.xCache] = "STALE"
        return response
    }

    private func account(_ keyed: KeyedRequest) -> RequestAccount {
        RequestAccount(sidecar: sidecar, route: route, model: keyed.model, streamed: keyed.stream)
    }

    private func read(_ request: Request) async throws(APIError) -> ByteBuffer {
        let limit = sidecar.config.server.maxBodyBytes
        // A declared oversize body is refused before any of it is read.
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError.tooLarge(limit: limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge(limit: limit)
        } catch {
            throw APIError(status: .badRequest, message: "The request body could not be read.", code: "invalid_request_body")
        }
    }

    private func key(_ body: ByteBuffer, scope: String) throws(APIError) -> KeyedRequest {
        let result = body.withUnsafeReadableBytes { raw in
            Result { () throws(InvalidRequest) in try sidecar.keyer.key(route: route, scope: scope, body: raw) }
        }
        switch result {
        case .success(let keyed): return keyed
        case .failure(let invalid): throw APIError.badRequest(invalid)
        }
    }

    // MARK: Hit

    /// A stored answer for this request: as stored, or as a stream for `stream: true`
    /// (the recorded events when it was streamed, else chunks made from the answer).
    static func response(for hit: CachedResponse, key: CacheKey, now: Double, keyed: KeyedRequest) -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(5)
        headers[CachetteHeaders.xCache] = "HIT"
        headers[CachetteHeaders.key] = key.hex
        headers[.age] = String(hit.age(at: now))
        guard keyed.stream else {
            headers[.contentType] = hit.contentType
            return Response(status: .init(code: hit.status), headers: headers, body: .init(byteBuffer: hit.body))
        }
        if let events = hit.events {
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            // One buffer, so head and body go out in one write; the SSE event boundaries are the recorded ones.
            return Response(status: .init(code: hit.status), headers: headers, body: .init(byteBuffer: events.replay(includeUsage: keyed.includeUsage)))
        }
        guard let events = synthesizedEvents(from: hit.body, includeUsage: keyed.includeUsage) else {
            // Not a completion (nothing to stream): the answer as it was stored.
            headers[.contentType] = hit.contentType
            return Response(status: .init(code: hit.status), headers: headers, body: .init(byteBuffer: hit.body))
        }
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .init(code: hit.status), headers: headers, body: .init(contentsOf: events))
    }

    /// The events a stream would have carried for a non-streamed answer: OpenAI chunks
    /// for a completion, Anthropic's event sequence for a message.
    static func synthesizedEvents(from answer: ByteBuffer, includeUsage: Bool) -> [ByteBuffer]? {
        guard let parsed = try? JSONValue.parse(answer.readableBytesView) else { return nil }
        if parsed["choices"]?.arrayValue != nil {
            return ChunkSynthesizer.events(ChunkSynthesizer.chunks(from: parsed, includeUsage: includeUsage))
        }
        return parsed["type"]?.stringValue == "message" ? MessageEventSynthesizer.events(from: parsed) : nil
    }

    // MARK: Miss

    /// One upstream call per key: the first request leads, identical ones arriving
    /// meanwhile (streaming or not) share its answer instead of calling the upstream
    /// again. A stream is shared live: joiners get every event from the first.
    private func missOrJoin(
        _ request: Request, body: ByteBuffer, keyed: KeyedRequest, level: CompressionLevel, store: CacheStore, controls: CacheControls
    ) async throws -> Response {
        let (result, role) = try await sidecar.flights.run(keyed.key, holding: { [self] in
            // A flight for this key may have finished between our lookup and now; its
            // answer is still in memory, so the disk need not be read again.
            if let stored = store.lookupRecent(keyed.key, now: Date().timeIntervalSince1970) {
                return (.cached(stored), nil)
            }
            guard keyed.stream else {
                let (answer, usage) = try await fetch(request, body: body, keyed: keyed, level: level, bypassed: false)
                storeIfAllowed(answer, usage: usage, keyed: keyed, controls: controls, in: store)
                return (.fresh(answer, usage: usage), nil)
            }
            switch try await startStream(request, body: body, keyed: keyed, level: level, bypassed: false, store: store, controls: controls) {
            case .answer(let answer, let usage):
                return (.fresh(answer, usage: usage), nil)
            case .stream(let flight):
                return (.stream(flight), { await flight.broadcast.closedToJoiners() })
            }
        })
        let now = Date().timeIntervalSince1970
        switch (result, role) {
        case (.cached(let stored), _):
            account(keyed).hit(stored.usage)
            return Self.response(for: stored, key: keyed.key, now: now, keyed: keyed)
        case (.fresh(let answer, let usage), .follower) where answer.isSuccess:
            // Answered without an upstream call of its own: a hit in every sense that costs.
            account(keyed).hit(usage ?? .zero)
            return Self.response(for: answer, key: keyed.key, outcome: "HIT", keyed: keyed)
        case (.fresh(let answer, _), .follower):
            account(keyed).sharedFailure()
            return Self.response(for: answer, key: keyed.key, outcome: "MISS", keyed: keyed)
        case (.fresh(let answer, _), .leader):
            return Self.response(for: answer, key: keyed.key, outcome: "MISS", keyed: keyed)
        case (.stream(let flight), .leader):
            return flight.response(reader: flight.leaderReader, xCache: "MISS", key: keyed.key)
        case (.stream(let flight), .follower):
            return try await join(flight, request, body: body, keyed: keyed, level: level, store: store, controls: controls)
        }
    }

    /// A request that found an identical stream in flight.
    private func join(
        _ flight: StreamFlight, _ request: Request, body: ByteBuffer, keyed: KeyedRequest, level: CompressionLevel,
        store: CacheStore, controls: CacheControls
    ) async throws -> Response {
        let account = account(keyed)
        @Sendable func counted(_ outcome: StreamFlight.Outcome?) {
            if case .failed = outcome {
                account.sharedFailure()
            } else if case .complete(_, let usage) = outcome {
                account.hit(usage ?? .zero)
            } else {
                account.hit(.zero)  // left before the end
            }
        }
        if keyed.stream, let reader = flight.broadcast.subscribe(includeUsage: keyed.includeUsage) {
            return flight.response(reader: reader, xCache: "HIT", key: keyed.key, onEnd: counted)
        }
        if !keyed.stream, let outcome = await flight.completion() {
            switch outcome {
            case .complete(let answer?, _):
                counted(outcome)
                var headers = HTTPFields()
                headers[.contentType] = "application/json"
                return Self.response(for: UpstreamAnswer(status: .ok, headers: headers, body: answer), key: keyed.key, outcome: "HIT", keyed: keyed)
            case .complete(nil, _):
                break  // streamed fine but too large to keep: ask for this one ourselves
            case .failed(let error):
                counted(outcome)
                throw error
            }
        }
        // The stream outgrew what is kept for joiners: this request makes its own call.
        return try await forward(request, body: body, keyed: keyed, level: level, outcome: "MISS", storeIn: store, controls: controls)
    }

    /// A forward that skips the single flight: `no-cache` requests, no cache at all, or
    /// a joiner that could not join.
    private func forward(
        _ request: Request, body: ByteBuffer, keyed: KeyedRequest, level: CompressionLevel, outcome: String,
        storeIn store: CacheStore? = nil, controls: CacheControls? = nil
    ) async throws -> Response {
        guard keyed.stream else {
            let (answer, usage) = try await fetch(request, body: body, keyed: keyed, level: level, bypassed: outcome == "BYPASS")
            if let store, let controls {
                storeIfAllowed(answer, usage: usage, keyed: keyed, controls: controls, in: store)
            }
            return Self.response(for: answer, key: keyed.key, outcome: outcome, keyed: keyed)
        }
        switch try await startStream(request, body: body, keyed: keyed, level: level, bypassed: outcome == "BYPASS", store: store, controls: controls) {
        case .answer(let answer, _):
            return Self.response(for: answer, key: keyed.key, outcome: outcome, keyed: keyed)
        case .stream(let flight):
            return flight.response(reader: flight.leaderReader, xCache: outcome, key: keyed.key)
        }
    }

    /// One upstream call for a whole answer, booked either way. An answer without
    /// `usage` has its tokens counted here, and the count is stored with it.
    private func fetch(
        _ request: Request, body: ByteBuffer, keyed: KeyedRequest, level: CompressionLevel, bypassed: Bool
    ) async throws -> (UpstreamAnswer, TokenUsage?) {
        let (forwarded, tally) = compressed(body, keyed: keyed, level: level)
        let (exchange, outgoing) = try prepare(request, body: forwarded, keyed: keyed)
        var answer: UpstreamAnswer
        do {
            answer = try exchange.answer(await sidecar.upstream.fetch(outgoing, route: exchange.route, logger: sidecar.logger))
        } catch {
            account(keyed).forwarded(bypassed: bypassed, usage: nil, upstreamError: true, compression: tally)
            throw error
        }
        if tally.saved > 0 { answer.headers[CachetteHeaders.tokensSaved] = String(tally.saved) }
        var usage = answer.body.withUnsafeReadableBytes { TokenUsage(responseBody: $0) }
        var counted = false
        if usage == nil, answer.isSuccess, let parsed = try? JSONValue.parse(answer.body.readableBytesView) {
            usage = Self.countedUsage(request: body, answer: parsed, model: keyed.model)
            counted = usage != nil
        }
        account(keyed).forwarded(bypassed: bypassed, usage: usage, upstreamError: !answer.isSuccess, counted: counted, compression: tally)
        return (answer, usage)
    }

    /// The upstream the model routes to and the request for it (translated when the
    /// formats differ). A refusal here (no route, an untranslatable parameter) comes
    /// before any upstream call, and is booked as such.
    private func prepare(_ request: Request, body: ByteBuffer, keyed: KeyedRequest) throws(APIError) -> (UpstreamExchange, HTTPClientRequest) {
        do {
            let exchange = try UpstreamExchange(sidecar: sidecar, model: keyed.model, path: route, format: format)
            return (exchange, try exchange.outgoing(request, body: body, stream: keyed.stream, client: sidecar.upstream))
        } catch {
            account(keyed).rejected()
            throw error
        }
    }

    /// The body to send upstream: chat and text completions compressed at `level` (the
    /// key was computed on the original), and the prompt's tokens before and after.
    private func compressed(_ body: ByteBuffer, keyed: KeyedRequest, level: CompressionLevel) -> (ByteBuffer, CompressionTally) {
        guard level != .off, var parsed = try? JSONValue.parse(body.readableBytesView),
              let tokenizer = try? Tokenizer.shared(TokenEncoding.forModel(keyed.model).encoding)
        else { return (body, CompressionTally()) }
        var options = sidecar.config.compression
        options.level = level
        let compressor = PromptCompressor(options: options, tokenizer: tokenizer)
        var tally = CompressionTally()
        if let messages = parsed["messages"]?.arrayValue {
            let (rewritten, report) = compressor.compress(messages: messages)
            tally = report.tally
            if tally.saved > 0 { parsed.set("messages", .array(rewritten)) }
        } else if let prompt = parsed["prompt"]?.stringValue {
            let result = compressor.compress(prompt: prompt)
            tally = CompressionTally(before: result.before, after: result.after)
            if tally.saved > 0 { parsed.set("prompt", .string(result.prompt)) }
        }
        return tally.saved > 0 ? (ByteBuffer(bytes: parsed.serialized()), tally) : (body, CompressionTally())
    }

    static func countedUsage(request: ByteBuffer, answer: JSONValue, model: String) -> TokenUsage? {
        guard let parsed = try? JSONValue.parse(request.readableBytesView) else { return nil }
        return UsageCounter.count(request: parsed, answer: answer, model: model)
    }

    /// Only complete, well-formed 2xx answers are stored, and never against `no-store`.
    private func storeIfAllowed(
        _ answer: UpstreamAnswer, usage: TokenUsage?, keyed: KeyedRequest, controls: CacheControls, in store: CacheStore,
        events: RecordedStream? = nil
    ) {
        guard answer.isSuccess, !controls.noStore else { return }
        if let problem = storageProblem(answer) {
            refusedToStore(problem)
            return
        }
        let now = Date().timeIntervalSince1970
        let lifetime = controls.ttl ?? sidecar.config.cache.ttl.seconds
        let cached = CachedResponse(
            status: answer.status.code, contentType: answer.contentType, body: answer.body,
            createdAt: now, expiresAt: now + lifetime, usage: usage ?? .zero, events: events
        )
        store.store(keyed.key, NewEntry(route: route, model: keyed.model, response: cached))
    }

    /// Why a 2xx answer to a non-streamed request may not be stored, if it may not.
    private func storageProblem(_ answer: UpstreamAnswer) -> String? {
        if let encoding = answer.headers[.contentEncoding], encoding.lowercased() != "identity" {
            return "the answer is \(encoding)-encoded, which the client did not ask for"
        }
        guard Self.isJSON(answer.contentType) else { return "the answer's Content-Type is \(answer.contentType), not JSON" }
        return answer.body.withUnsafeReadableBytes { shape.problem(in: $0) }
    }

    /// A 2xx answer that is relayed as it came but never served again.
    private func refusedToStore(_ problem: String) {
        sidecar.stats.record(.invalidAnswer)
        sidecar.metrics.invalidAnswers.increment()
        sidecar.logger.warning("upstream answer not stored", metadata: ["route": "\(route)", "reason": "\(problem)"])
    }

    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }

    /// An upstream answer as it came, or, for a streaming request that got a whole
    /// 2xx answer (from a non-streaming flight it joined), as a synthesized stream.
    static func response(for answer: UpstreamAnswer, key: CacheKey, outcome: String, keyed: KeyedRequest) -> Response {
        var headers = answer.headers
        headers[CachetteHeaders.xCache] = outcome
        headers[CachetteHeaders.key] = key.hex
        if keyed.stream, answer.isSuccess, let events = synthesizedEvents(from: answer.body, includeUsage: keyed.includeUsage) {
            headers[.contentType] = "text/event-stream"
            headers[.contentLength] = nil
            headers[.cacheControl] = "no-cache"
            return Response(status: answer.status, headers: headers, body: .init(contentsOf: events))
        }
        return Response(status: answer.status, headers: headers, body: .init(byteBuffer: answer.body))
    }

    // MARK: Streams

    /// Sends a streaming request; the stream is stored when it ends cleanly (unless
    /// `no-store`), and a whole answer the upstream gave instead is handled like a fetch.
    private func startStream(
        _ request: Request, body: ByteBuffer, keyed: KeyedRequest, level: CompressionLevel, bypassed: Bool,
        store: CacheStore?, controls: CacheControls?
    ) async throws -> StreamFlight.Started {
        let account = account(keyed)
        let (forwarded, tally) = compressed(body, keyed: keyed, level: level)
        let (exchange, outgoing) = try prepare(request, body: forwarded, keyed: keyed)
        let started: StreamFlight.Started
        do {
            started = try await StreamFlight.start(
                outgoing, body: forwarded, model: keyed.model, exchange: exchange, includeUsage: keyed.includeUsage, tokensSaved: tally.saved,
                sidecar: sidecar,
                onComplete: { [self] recording, answer, usage in
                    guard let store, let controls else { return }
                    let stored = UpstreamAnswer(status: .ok, headers: [.contentType: "application/json"], body: answer)
                    storeIfAllowed(stored, usage: usage, keyed: keyed, controls: controls, in: store, events: recording)
                },
                onEnd: { usage, failed, counted, duration in
                    account.streamEnded(
                        bypassed: bypassed, usage: usage, failed: failed, counted: counted, compression: tally, duration: duration
                    )
                }
            )
        } catch {
            account.forwarded(bypassed: bypassed, usage: nil, upstreamError: true, compression: tally)
            throw error
        }
        switch started {
        case .answer(let answer, let usage):
            account.forwarded(bypassed: bypassed, usage: usage, upstreamError: !answer.isSuccess, compression: tally)
            // A whole answer to a stream request is relayed, never stored: the request asked for events.
            if answer.isSuccess, store != nil, controls?.noStore == false { refusedToStore("a stream request was answered with \(answer.contentType)") }
        case .stream:
            account.streamStarted(bypassed: bypassed)
        }
        return started
    }
}

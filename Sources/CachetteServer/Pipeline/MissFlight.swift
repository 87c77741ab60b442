import CachetteCore
import Foundation
import Hummingbird
import NIOCore

/// A request the cache could not answer, from the lookup's miss to its response. It
/// reads top-down:
///
/// 1. `answer`: lead or join the single flight for the key;
/// 2. `lead`: memory once more, the shared tier, then the outbound request
///    (compressed, routed, maybe translated) — `Forwarder.outbound`;
/// 3. `send`: one upstream call for a whole answer, or a live stream that stores and
///    books its request at its end — `Forwarder`, `LiveStream`;
/// 4. `join`: an identical request reads the leader's answer or live stream;
/// 5. `forward`: a call outside any flight (`no-cache`, no cache, a background
///    response, a joiner that could not join);
/// 6. `failed`: an upstream failure, answered stale when it may be.
///
/// Each way through books the request once, through `ProxyRequest.book`.
struct MissFlight: Sendable {
    /// What the flight's one upstream call produced, shared by its waiters.
    enum Shared: Sendable {
        /// The leader found the entry: stored by a flight that finished just before it,
        /// or in the shared tier.
        case cached(CachedResponse, tier: StoreTier)
        case answer(UpstreamAnswer, usage: TokenUsage?, counted: Bool, compression: CompressionTally)
        /// A live upstream stream that joiners read from its first event.
        case stream(LiveStream)
        case failed(APIError, compression: CompressionTally)
        /// Refused before any upstream call (no upstream for the model).
        case rejected(APIError)
    }

    let flights: SingleFlight<CacheKey, Shared>
    let forwarder: Forwarder
    /// `cache.stale_if_error`, for requests that do not set their own.
    let staleIfError: Double

    // MARK: 1. Lead or join

    /// One upstream call per key: the first request leads, identical ones arriving
    /// meanwhile (streaming or not) share its answer instead of calling again. A stream
    /// is shared live: joiners get every event from the first.
    func answer(_ request: ProxyRequest, storage: StorePolicy) async -> Response {
        let flight: (Shared, SingleFlight<CacheKey, Shared>.Role)
        do {
            flight = try await flights.run(request.key, holding: { [self] in await lead(request, storage: storage) })
        } catch {
            // The work never throws; a cancelled wait is all this can be.
            let cancelled = APIError.upstream(.badGateway, "upstream_unreachable", "The request was cancelled before the upstream answered.")
            return failed(request, cancelled.response, storage: storage)
        }
        switch flight {
        case (.cached(let stored, let tier), _):
            request.trace?.hit(stored, tier: tier)
            request.book(.hit, usage: stored.usage)
            return AnswerResponse.stored(stored, for: request, now: Date().timeIntervalSince1970, tier: tier)
        case (.answer(let answer, let usage, let counted, let compression), .leader):
            return answered(request, answer, as: .miss, storage: storage, usage: usage, counted: counted, compression: compression)
        case (.answer(let answer, let usage, _, _), .follower):
            // Answered without an upstream call of its own: a hit in every sense that costs.
            if answer.isSuccess { request.trace?.answered(answer.body) }
            return answered(request, answer, as: .hit, storage: storage, usage: answer.isSuccess ? usage ?? .zero : nil)
        case (.failed(let error, let compression), let role):
            return failed(request, error.response, storage: storage, compression: role == .leader ? compression : CompressionTally())
        case (.rejected(let error), _):
            request.book(.rejected)
            return error.response
        case (.stream(let stream), .leader):
            return live(stream, reader: stream.leaderReader, as: .miss, for: request)
        case (.stream(let stream), .follower):
            return await join(stream, request, storage: storage)
        }
    }

    // MARK: 2. Lead

    /// The leader's work, run once for all the flight's waiters.
    private func lead(_ request: ProxyRequest, storage: StorePolicy) async -> (Shared, holdUntil: (@Sendable () async -> Void)?) {
        // A flight for this key may have finished between our lookup and now; its
        // answer is still in memory, so the disk need not be read again.
        if let (stored, tier) = storage.store.lookup(request.key, now: Date().timeIntervalSince1970, .recent) {
            return (.cached(stored, tier: tier), nil)
        }
        // Another replica may have it, or be fetching it: asked once per key, inside the
        // flight. A miss there may make this replica the cluster's leader for the key,
        // until the answer is stored or refused.
        let store = storage.store
        let prepare = { Result { () throws(APIError) in try forwarder.outbound(request) } }
        let prepared: Result<Forwarder.Outbound, APIError>
        if store.hasSharedTier {
            // The shared read waits on PostgreSQL, the outbound request (compression,
            // mostly) on the CPU: side by side, the miss pays the longer, not both.
            async let shared = store.lookupShared(request.key, now: Date().timeIntervalSince1970)
            prepared = prepare()
            if let shared = await shared { return (.cached(shared, tier: .shared), nil) }
        } else {
            prepared = prepare()
        }
        let outbound: Forwarder.Outbound
        switch prepared {
        case .success(let ready): outbound = ready
        case .failure(let error):
            store.releaseShared(request.key)
            return (.rejected(error), nil)
        }
        switch await send(outbound, for: request, as: .miss, storage: storage, finished: { store.releaseShared(request.key) }) {
        case .answer(let answer, let usage, let counted):
            return (.answer(answer, usage: usage, counted: counted, compression: outbound.compression), nil)
        case .stream(let stream):
            return (.stream(stream), { await stream.broadcast.closedToJoiners() })
        case .failed(let error):
            return (.failed(error, compression: outbound.compression), nil)
        }
    }

    // MARK: 3. Send

    /// Sends the request and stores what may be kept. A whole answer is returned to be
    /// booked; a stream stores and books its request (as `outcome`, or `error`) when the
    /// upstream ends. `finished` runs once the answer is stored or refused.
    private func send(
        _ outbound: Forwarder.Outbound, for request: ProxyRequest, as outcome: RequestOutcome, storage: StorePolicy?,
        finished: @escaping @Sendable () -> Void = {}
    ) async -> Forwarder.Sent {
        guard request.stream else {
            let sent = await forwarder.fetch(outbound)
            if case .answer(let answer, let usage, _) = sent { storage?.store(answer, usage: usage, for: request) }
            finished()
            return sent
        }
        let sent = await forwarder.stream(outbound, request: request) { end in
            if let recording = end.recording, let answer = end.answer {
                let whole = UpstreamAnswer(status: .ok, headers: [.contentType: "application/json"], body: answer)
                storage?.store(whole, usage: end.usage, for: request, events: recording)
            }
            request.book(end.failure == nil ? outcome : .error, usage: end.usage, counted: end.counted, compression: outbound.compression)
            finished()
        }
        switch sent {
        case .answer(let answer, _, _):
            storage?.refuseWholeAnswer(answer, for: request)
            finished()
        case .failed: finished()
        case .stream: break  // finished at its end
        }
        return sent
    }

    // MARK: 4. Join

    /// A request that found an identical stream in flight: it reads the stream live,
    /// or, not streaming, waits for the assembled answer.
    private func join(_ stream: LiveStream, _ request: ProxyRequest, storage: StorePolicy) async -> Response {
        if request.stream, let reader = stream.join(includeUsage: request.keyed.includeUsage) {
            return live(stream, reader: reader, as: .hit, for: request) { end in
                if let end, end.failure != nil { return request.book(.error) }
                if let answer = end?.answer { request.trace?.answered(answer) }
                // Nil: it left before the end, having cost nothing.
                request.book(.hit, usage: end?.usage ?? .zero)
            }
        }
        if !request.stream, let end = await stream.completion() {
            if let failure = end.failure { return failed(request, failure.response, storage: storage) }
            if let answer = end.answer {
                request.trace?.answered(answer)
                let whole = UpstreamAnswer(status: .ok, headers: [.contentType: "application/json"], body: answer)
                return answered(request, whole, as: .hit, storage: storage, usage: end.usage ?? .zero)
            }
            // Streamed fine but too large to keep: this one is asked for again.
        }
        // The stream outgrew what is kept for joiners: this request makes its own call.
        return await forward(request, as: .miss, storage: storage)
    }

    // MARK: 5. Forward

    /// A call outside any single flight. Booked as `outcome` unless it fails.
    func forward(_ request: ProxyRequest, as outcome: RequestOutcome, storage: StorePolicy?) async -> Response {
        let outbound: Forwarder.Outbound
        do {
            outbound = try forwarder.outbound(request)
        } catch {
            request.book(.rejected)
            return error.response
        }
        switch await send(outbound, for: request, as: outcome, storage: storage) {
        case .answer(let answer, let usage, let counted):
            return answered(request, answer, as: outcome, storage: storage, usage: usage, counted: counted, compression: outbound.compression)
        case .stream(let stream):
            return live(stream, reader: stream.leaderReader, as: outcome, for: request)
        case .failed(let error):
            return failed(request, error.response, storage: storage, compression: outbound.compression)
        }
    }

    // MARK: 6. Answered or failed

    /// A whole answer, booked as `outcome` when it is a 2xx, else as a failure.
    private func answered(
        _ request: ProxyRequest, _ answer: UpstreamAnswer, as outcome: RequestOutcome, storage: StorePolicy?, usage: TokenUsage?,
        counted: Bool = false, compression: CompressionTally = CompressionTally()
    ) -> Response {
        guard answer.isSuccess else {
            return failed(
                request, AnswerResponse.upstream(answer, for: request, as: .error), storage: storage, usage: usage, counted: counted,
                compression: compression)
        }
        request.book(outcome, usage: usage, counted: counted, compression: compression)
        return AnswerResponse.upstream(answer, for: request, as: outcome)
    }

    /// stale-if-error (RFC 5861): when the upstream answers 5xx or 429, times out or
    /// cannot be reached, an entry past its TTL by less than the request's window is
    /// served instead (`X-Cache: STALE`). Else the failure, booked as `error`.
    private func failed(
        _ request: ProxyRequest, _ response: Response, storage: StorePolicy?, usage: TokenUsage? = nil, counted: Bool = false,
        compression: CompressionTally = CompressionTally()
    ) -> Response {
        let code = response.status.code
        // A `no-cache` request asked for a fresh answer, not a kept one.
        if code >= 500 || code == 429, let storage, !request.controls.noCache {
            let now = Date().timeIntervalSince1970
            let window = request.controls.staleIfError ?? staleIfError
            if let (entry, _) = storage.store.lookup(request.key, now: now, .stale(within: window)) {
                request.book(.stale)
                return AnswerResponse.stored(entry, for: request, now: now, as: .stale)
            }
        }
        request.book(.error, usage: usage, counted: counted, compression: compression)
        return response
    }

    /// A live stream's response for `request`, booked when the stream ends (`onEnd` for
    /// a joiner; the leader's in `send`).
    private func live(
        _ stream: LiveStream, reader: Int, as head: RequestOutcome, for request: ProxyRequest,
        onEnd: @escaping @Sendable (LiveStream.End?) -> Void = { _ in }
    ) -> Response {
        request.booking.bookAtEnd()
        return stream.response(reader: reader, as: head, key: request.key, onEnd: onEnd)
    }
}

import CachetteCore
import Foundation
import Hummingbird
import NIOCore

/// What the one upstream call of a single flight produced, shared by its waiters.
enum FlightResult: Sendable {
    /// The leader found the entry: stored by a flight that finished just before it, or
    /// in the shared tier.
    case cached(CachedResponse, tier: StoreTier)
    case answer(UpstreamAnswer, usage: TokenUsage?, counted: Bool, compression: CompressionTally)
    /// A live upstream stream that joiners read from its first event.
    case stream(StreamFlight)
    case failed(APIError, compression: CompressionTally)
    /// Refused before any upstream call (no upstream for the model).
    case rejected(APIError)
}

extension CachedEndpoint {
    /// One upstream call per key: the first request leads, identical ones arriving
    /// meanwhile (streaming or not) share its answer instead of calling the upstream
    /// again. A stream is shared live: joiners get every event from the first.
    func missOrJoin(_ request: ProxyRequest, storage: StorePolicy) async -> Served {
        let flight: (FlightResult, SingleFlight<CacheKey, FlightResult>.Role)
        do {
            flight = try await flights.run(request.key, holding: { [self] in try await lead(request, storage: storage) })
        } catch {
            // The work never throws; a cancelled wait is all this can be.
            return Served(
                response: APIError.upstream(.badGateway, "upstream_unreachable", "The request was cancelled before the upstream answered.").response,
                event: request.event(.error))
        }
        switch flight {
        case (.cached(let stored, let tier), _):
            request.trace?.hit(stored, tier: tier)
            let now = Date().timeIntervalSince1970
            return Served(
                response: AnswerResponse.stored(stored, for: request, now: now, tier: tier), event: request.event(.hit, usage: stored.usage))
        case (.answer(let answer, let usage, let counted, let compression), .leader):
            return Served(
                response: AnswerResponse.upstream(answer, for: request, as: .miss),
                event: request.event(answer.isSuccess ? .miss : .error, usage: usage, counted: counted, compression: compression)
            )
        case (.answer(let answer, let usage, _, _), .follower):
            // Answered without an upstream call of its own: a hit in every sense that costs.
            request.trace?.answered(answer.body)
            return Served(
                response: AnswerResponse.upstream(answer, for: request, as: answer.isSuccess ? .hit : .error),
                event: answer.isSuccess ? request.event(.hit, usage: usage ?? .zero) : request.event(.error)
            )
        case (.failed(let error, let compression), let role):
            return Served(response: error.response, event: request.event(.error, compression: role == .leader ? compression : CompressionTally()))
        case (.rejected(let error), _):
            return Served(response: error.response, event: request.event(.rejected))
        case (.stream(let stream), .leader):
            return Served(response: stream.response(reader: stream.leaderReader, as: .miss, key: request.key), event: nil)
        case (.stream(let stream), .follower):
            return await join(stream, request, storage: storage)
        }
    }

    /// The leader's work, run once for all the flight's waiters.
    private func lead(_ request: ProxyRequest, storage: StorePolicy) async throws -> (FlightResult, holdUntil: (@Sendable () async -> Void)?) {
        // A flight for this key may have finished between our lookup and now; its
        // answer is still in memory, so the disk need not be read again.
        if let stored = storage.store.lookupRecent(request.key, now: Date().timeIntervalSince1970) {
            return (.cached(stored, tier: .memory), nil)
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

    /// A request that found an identical stream in flight: it reads the stream live,
    /// or, not streaming, waits for the assembled answer.
    private func join(_ stream: StreamFlight, _ request: ProxyRequest, storage: StorePolicy) async -> Served {
        let accounting = accounting
        @Sendable func booked(_ outcome: StreamFlight.Outcome?) -> RequestEvent {
            switch outcome {
            case .failed: return request.event(.error)
            case .complete(let answer, let usage):
                if let answer { request.trace?.answered(answer) }
                return request.event(.hit, usage: usage ?? .zero)
            case nil: return request.event(.hit, usage: .zero)  // left before the end
            }
        }
        if request.stream, let reader = stream.join(includeUsage: request.keyed.includeUsage) {
            let response = stream.response(reader: reader, as: .hit, key: request.key) { accounting.record(booked($0)) }
            return Served(response: response, event: nil)
        }
        if !request.stream, let outcome = await stream.completion() {
            switch outcome {
            case .complete(let answer?, _):
                let whole = UpstreamAnswer(status: .ok, headers: [.contentType: "application/json"], body: answer)
                return Served(response: AnswerResponse.upstream(whole, for: request, as: .hit), event: booked(outcome))
            case .complete(nil, _):
                break  // streamed fine but too large to keep: ask for this one ourselves
            case .failed(let error):
                return Served(response: error.response, event: booked(outcome))
            }
        }
        // The stream outgrew what is kept for joiners: this request makes its own call.
        return await forward(request, as: .miss, storage: storage)
    }
}

import CachetteCore
import Foundation
import Hummingbird
import Logging

/// A cached POST endpoint: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`
/// and Anthropic's `/v1/messages`. The request path reads top-down:
///
/// 1. prepare: read the body once, key it (one pass, one hash) — `RequestIntake`;
/// 2. lookup: memory, then one indexed SQLite read; a hit is answered here;
/// 3. join or lead the single flight for the key — `Flight.swift`;
/// 4. call the upstream (compressed, routed, maybe translated) — `Forwarder`;
/// 5. store a complete, well-formed 2xx answer — `StorePolicy`;
/// 6. respond, and book the outcome once — `AnswerResponse`, `Accounting`.
struct CachedEndpoint: Sendable {
    let intake: RequestIntake
    /// Nil when `cache.enabled: false`: everything is forwarded (`BYPASS`).
    let storage: StorePolicy?
    let flights: SingleFlight<CacheKey, FlightResult>
    let forwarder: Forwarder
    let accounting: Accounting
    /// `cache.stale_if_error`, for requests that do not set their own.
    let staleIfError: Double
    /// `cache.mode: offline`: answers come from the cache or not at all.
    let offline: Bool
    /// Tags credentials in the request log.
    let fingerprint: CredentialFingerprint
    /// Nil while telemetry is off: then no span is made.
    let tracer: RequestTracer?

    var route: CachedRoute { intake.route }

    func addRoutes(to router: Router<some RequestContext>) {
        router.post(RouterPath(route.path)) { request, context in try await respond(to: request, context: context) }
    }

    /// What a stage produced: the response, and the request's booking, unless a stream
    /// books it when it ends.
    struct Served: Sendable {
        var response: Response
        var event: RequestEvent?
    }

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let arrived = ContinuousClock.now
        var served = await serve(
            request, arrived: arrived, trace: tracer?.trace(operation: route.operationName, route: route.path, headers: request.headers))
        if let event = served.event {
            accounting.record(event)
            // The stages name the answers they make; a failure or refusal is named here, as
            // booked. (A stream's head goes before its end is known: it says what it began as.)
            if event.outcome == .error || event.outcome == .rejected { served.response.headers[CachetteHeaders.xCache] = event.outcome.xCache }
        }
        // Time to the response head of what reached the cache or an upstream; refusals are not timed.
        if served.event?.outcome != .rejected { accounting.duration(route: route.path, ContinuousClock.now - arrived) }
        // Logged with the credential's fingerprint, never the credential.
        context.logger.debug(
            "request",
            metadata: [
                "route": "\(route.path)",
                "status": "\(served.response.status.code)",
                "cache": "\(served.response.headers[CachetteHeaders.xCache] ?? "-")",
                "key": "\(served.response.headers[CachetteHeaders.key] ?? "-")",
                "credential": "\(fingerprint.of(intake.scope.credential(request.headers)))",
                "ms": "\((ContinuousClock.now - arrived).seconds * 1000)",
            ]
        )
        return served.response
    }

    private func serve(_ request: Request, arrived: ContinuousClock.Instant, trace: RequestTrace?) async -> Served {
        let proxied: ProxyRequest
        do {
            proxied = try await intake.prepare(request, arrived: arrived, trace: trace)
        } catch {
            return Served(response: error.response, event: RequestEvent(route: route.path, model: "", outcome: .rejected, trace: trace))
        }
        trace?.requested(model: proxied.model, provider: tracer?.provider(for: proxied.model))
        guard let storage else { return await forward(proxied, as: .bypass, storage: nil) }
        if proxied.controls.noCache && !offline { return await forward(proxied, as: .bypass, storage: storage) }
        // A background response answers with a queued status, never the answer: nothing to cache.
        if proxied.keyed.background {
            if offline { return Served(response: APIError.offline(path: route.path).response, event: proxied.event(.rejected)) }
            return await forward(proxied, as: .bypass, storage: nil)
        }

        let now = Date().timeIntervalSince1970
        if let (hit, tier) = storage.store.find(proxied.key, now: now) {
            proxied.trace?.hit(hit, tier: tier)
            return Served(response: AnswerResponse.stored(hit, for: proxied, now: now, tier: tier), event: proxied.event(.hit, usage: hit.usage))
        }
        if offline { return await offlineMiss(proxied, store: storage.store, now: now) }
        let staleWindow = proxied.controls.staleIfError ?? staleIfError
        return await servingStaleOnFailure(proxied, store: storage.store, window: staleWindow) {
            await missOrJoin(proxied, storage: storage)
        }
    }

    /// stale-if-error (RFC 5861): when the upstream answers 5xx or 429, times out or
    /// cannot be reached, an answer past its TTL by less than `window` is served
    /// instead (`X-Cache: STALE`).
    private func servingStaleOnFailure(
        _ request: ProxyRequest, store: CacheStore, window: Double, _ miss: () async -> Served
    ) async -> Served {
        let served = await miss()
        let code = served.response.status.code
        guard served.event != nil, code >= 500 || code == 429 else { return served }
        let now = Date().timeIntervalSince1970
        guard let entry = store.lookupStale(request.key, now: now, within: window) else { return served }
        return Served(response: AnswerResponse.stored(entry, for: request, now: now, as: .stale), event: request.event(.stale))
    }

    /// No upstream to ask: the shared tier's entry if there is one, else an expired
    /// entry still kept (`STALE`), else a 503 naming the key.
    private func offlineMiss(_ request: ProxyRequest, store: CacheStore, now: Double) async -> Served {
        if let shared = await store.lookupShared(request.key, now: now, lead: false) {
            request.trace?.hit(shared, tier: .shared)
            return Served(
                response: AnswerResponse.stored(shared, for: request, now: now, tier: .shared), event: request.event(.hit, usage: shared.usage))
        }
        if let entry = store.lookupStale(request.key, now: now, within: .greatestFiniteMagnitude) {
            return Served(response: AnswerResponse.stored(entry, for: request, now: now, as: .stale), event: request.event(.stale))
        }
        var response = APIError.offlineMiss(key: request.key).response
        response.headers[CachetteHeaders.key] = request.key.hex
        return Served(response: response, event: request.event(.rejected))
    }

    /// A forward outside any single flight: `no-cache` requests, no cache at all, or a
    /// joiner that could not join. Booked as `outcome` unless the upstream fails.
    func forward(_ request: ProxyRequest, as outcome: RequestOutcome, storage: StorePolicy?) async -> Served {
        let outbound: Forwarder.Outbound
        do {
            outbound = try forwarder.outbound(request)
        } catch {
            return Served(response: error.response, event: request.event(.rejected))
        }
        switch await send(outbound, for: request, as: outcome, storage: storage) {
        case .answer(let answer, let usage, let counted):
            return Served(
                response: AnswerResponse.upstream(answer, for: request, as: outcome),
                event: request.event(answer.isSuccess ? outcome : .error, usage: usage, counted: counted, compression: outbound.compression)
            )
        case .stream(let flight):
            return Served(response: flight.response(reader: flight.leaderReader, as: outcome, key: request.key), event: nil)
        case .failed(let error):
            return Served(response: error.response, event: request.event(.error, compression: outbound.compression))
        }
    }

    /// Sends the request, stores what may be kept, and for a stream, books the request
    /// (as `outcome`, or `error`) when the upstream ends. `finished` runs once the
    /// answer is stored or refused: at once for a whole answer, at its end for a stream.
    func send(
        _ outbound: Forwarder.Outbound, for request: ProxyRequest, as outcome: RequestOutcome, storage: StorePolicy?,
        finished: @escaping @Sendable () -> Void = {}
    ) async -> Forwarder.Sent {
        guard request.stream else {
            let sent = await forwarder.fetch(outbound, model: request.model)
            if case .answer(let answer, let usage, _) = sent { storage?.store(answer, usage: usage, for: request) }
            finished()
            return sent
        }
        let sent = await forwarder.stream(
            outbound, request: request,
            onEnd: { [accounting] ending in
                accounting.record(
                    request.event(
                        ending.failed ? .error : outcome, usage: ending.usage, counted: ending.counted, compression: outbound.compression
                    ))
                finished()
            },
            onComplete: { recording, answer, usage in
                let whole = UpstreamAnswer(status: .ok, headers: [.contentType: "application/json"], body: answer)
                storage?.store(whole, usage: usage, for: request, events: recording)
            }
        )
        switch sent {
        case .answer(let answer, _, _):
            storage?.refuseWholeAnswer(answer, for: request)
            finished()
        case .failed: finished()
        case .stream: break  // finished at its end
        }
        return sent
    }
}

import CachetteCore
import Foundation
import Hummingbird
import Logging

/// A cached POST endpoint: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`
/// and Anthropic's `/v1/messages`. The request path reads top-down:
///
/// 1. prepare: read the body once, key it (one pass, one hash) — `RequestIntake`;
/// 2. lookup: memory, then one indexed SQLite read; a hit is answered here;
/// 3. a miss goes to its single flight, and on to the upstream — `MissFlight`;
/// 4. respond, booked once whichever way it ends — `AnswerResponse`, `RequestBooking`.
struct CachedEndpoint: Sendable {
    let intake: RequestIntake
    /// Nil when `cache.enabled: false`: everything is forwarded (`BYPASS`).
    let storage: StorePolicy?
    let miss: MissFlight
    let accounting: Accounting
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

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let arrived = ContinuousClock.now
        let booking = RequestBooking(accounting: accounting)
        let trace = tracer?.trace(operation: route.operationName, route: route.path, headers: request.headers)
        var response = await serve(request, arrived: arrived, trace: trace, booking: booking)
        // Nil for a stream, booked at its end: its head says what it began as.
        let outcome = booking.headOutcome
        // The stages name the answers they make; a failure or refusal is named here, as booked.
        if outcome == .error || outcome == .rejected { response.headers[CachetteHeaders.xCache] = outcome?.xCache }
        finished(request.headers, response.head, timed: outcome != .rejected, arrived: arrived, logger: context.logger)
        return response
    }

    /// A fresh memory-tier hit, answered without suspending: the fast lane's work on the
    /// connection's event loop, by the same intake, lookup, answer and booking as
    /// `respond`. Nil, with nothing booked, for anything else: the router then takes
    /// the request whole, as if the lane were not there.
    func memoryHit(_ head: HTTPRequest, body: ByteBuffer, arrived: ContinuousClock.Instant, logger: Logger) -> (
        head: HTTPResponse, body: [ByteBuffer]
    )? {
        guard let storage else { return nil }
        let request = Request(head: head, body: RequestBody(buffer: body))
        let booking = RequestBooking(accounting: accounting)
        guard var proxied = try? intake.prepare(request, body: body, arrived: arrived, trace: nil, booking: booking),
            !proxied.controls.noCache, !proxied.keyed.background
        else { return nil }
        let now = Date().timeIntervalSince1970
        guard let (hit, tier) = storage.store.lookup(proxied.key, now: now, .recent) else { return nil }
        if let tracer {
            proxied.trace = tracer.trace(operation: route.operationName, route: route.path, headers: head.headerFields)
            proxied.trace?.requested(model: proxied.model, provider: tracer.provider(for: proxied.model))
            proxied.trace?.hit(hit, tier: tier)
        }
        proxied.book(.hit, usage: hit.usage)
        let answer = AnswerResponse.storedParts(hit, for: proxied, now: now, tier: tier)
        finished(head.headerFields, answer.head, timed: true, arrived: arrived, logger: logger)
        return answer
    }

    /// Times the response head (refusals are not timed) and logs the request, with the
    /// credential's fingerprint, never the credential.
    private func finished(_ request: HTTPFields, _ response: HTTPResponse, timed: Bool, arrived: ContinuousClock.Instant, logger: Logger) {
        if timed { accounting.duration(route: route.path, ContinuousClock.now - arrived) }
        logger.debug(
            "request",
            metadata: [
                "route": "\(route.path)",
                "status": "\(response.status.code)",
                "cache": "\(response.headerFields[CachetteHeaders.xCache] ?? "-")",
                "key": "\(response.headerFields[CachetteHeaders.key] ?? "-")",
                "credential": "\(fingerprint.of(intake.scope.credential(request)))",
                "ms": "\((ContinuousClock.now - arrived).seconds * 1000)",
            ]
        )
    }

    private func serve(_ request: Request, arrived: ContinuousClock.Instant, trace: RequestTrace?, booking: RequestBooking) async -> Response {
        let proxied: ProxyRequest
        do {
            proxied = try await intake.prepare(request, arrived: arrived, trace: trace, booking: booking)
        } catch {
            booking.book(BookedRequest(route: route.path, model: "", outcome: .rejected, trace: trace))
            return error.response
        }
        trace?.requested(model: proxied.model, provider: tracer?.provider(for: proxied.model))
        guard let storage else { return await miss.forward(proxied, as: .bypass, storage: nil) }
        if proxied.controls.noCache && !offline { return await miss.forward(proxied, as: .bypass, storage: storage) }
        // A background response answers with a queued status, never the answer: nothing to cache.
        if proxied.keyed.background {
            guard !offline else { return refuse(proxied, APIError.offline(path: route.path).response) }
            return await miss.forward(proxied, as: .bypass, storage: nil)
        }

        let now = Date().timeIntervalSince1970
        if let (hit, tier) = storage.store.lookup(proxied.key, now: now) {
            proxied.trace?.hit(hit, tier: tier)
            proxied.book(.hit, usage: hit.usage)
            return AnswerResponse.stored(hit, for: proxied, now: now, tier: tier)
        }
        if offline { return await offlineMiss(proxied, store: storage.store, now: now) }
        return await miss.answer(proxied, storage: storage)
    }

    /// No upstream to ask: the shared tier's entry if there is one, else an expired
    /// entry still kept (`STALE`), else a 503 naming the key.
    private func offlineMiss(_ request: ProxyRequest, store: CacheStore, now: Double) async -> Response {
        if let shared = await store.lookupShared(request.key, now: now, lead: false) {
            request.trace?.hit(shared, tier: .shared)
            request.book(.hit, usage: shared.usage)
            return AnswerResponse.stored(shared, for: request, now: now, tier: .shared)
        }
        if let (entry, _) = store.lookup(request.key, now: now, .stale(within: .greatestFiniteMagnitude)) {
            request.book(.stale)
            return AnswerResponse.stored(entry, for: request, now: now, as: .stale)
        }
        var response = APIError.offlineMiss(key: request.key).response
        response.headers[CachetteHeaders.key] = request.key.hex
        return refuse(request, response)
    }

    private func refuse(_ request: ProxyRequest, _ response: Response) -> Response {
        request.book(.rejected)
        return response
    }
}

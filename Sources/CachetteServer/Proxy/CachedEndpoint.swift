import CachetteCore
import Foundation
import Hummingbird
import NIOCore

/// A cached POST endpoint (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`).
///
/// The whole request path is here: read the body, key it (one pass, one hash), look the
/// key up (memory, then one indexed SQLite read), and on a hit write the stored bytes.
/// A miss makes one upstream call per key however many requests wait for it, and
/// stores a complete 2xx answer.
struct CachedEndpoint: Sendable {
    let route: String
    let sidecar: Sidecar

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await handle(request)
        // Logged with the credential's fingerprint, never the credential.
        context.logger.debug(
            "request",
            metadata: [
                "route": "\(route)",
                "status": "\(response.status.code)",
                "cache": "\(response.headers[CachetteHeaders.xCache] ?? "-")",
                "key": "\(response.headers[CachetteHeaders.key] ?? "-")",
                "credential": "\(CredentialFingerprint.of(ForwardedHeaders.credential(request.headers)))",
                "ms": "\((ContinuousClock.now - started).seconds * 1000)",
            ]
        )
        return response
    }

    private func handle(_ request: Request) async throws -> Response {
        let body: ByteBuffer, controls: CacheControls, keyed: KeyedRequest
        do {
            body = try await read(request)
            controls = try CacheControls(request.headers)
            keyed = try key(body, scope: sidecar.config.cache.scope == .shared ? "" : ForwardedHeaders.credential(request.headers))
        } catch {
            sidecar.stats.recordRejected()
            throw error
        }

        guard let store = sidecar.store else {
            return try await forward(request, body: body, keyed: keyed, outcome: "BYPASS")
        }
        if keyed.stream {
            // Recording streams is the streaming issue's work; until then they pass through.
            return try await relayStream(request, body: body, keyed: keyed)
        }
        let now = Date().timeIntervalSince1970
        if !controls.noCache, let hit = store.lookup(keyed.key, now: now) {
            sidecar.stats.recordHit(usage: hit.usage)
            return Self.response(for: hit, key: keyed.key, now: now)
        }
        if controls.noCache {
            return try await forward(request, body: body, keyed: keyed, outcome: "BYPASS", storeIn: store, controls: controls)
        }
        return try await missOrJoin(request, body: body, keyed: keyed, store: store, controls: controls)
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

    static func response(for hit: CachedResponse, key: CacheKey, now: Double) -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(4)
        headers[.contentType] = hit.contentType
        headers[CachetteHeaders.xCache] = "HIT"
        headers[CachetteHeaders.key] = key.hex
        headers[.age] = String(hit.age(at: now))
        return Response(status: .init(code: hit.status), headers: headers, body: .init(byteBuffer: hit.body))
    }

    // MARK: Miss

    /// One upstream call per key: the first request leads, identical ones arriving
    /// meanwhile wait for its answer instead of calling the upstream again.
    private func missOrJoin(
        _ request: Request, body: ByteBuffer, keyed: KeyedRequest, store: CacheStore, controls: CacheControls
    ) async throws -> Response {
        let (result, role) = try await sidecar.flights.run(keyed.key) { [self] in
            // A flight for this key may have finished between our lookup and now; its
            // answer is still in memory, so the disk need not be read again.
            if let stored = store.lookupRecent(keyed.key, now: Date().timeIntervalSince1970) {
                return .cached(stored)
            }
            let (answer, usage) = try await fetch(request, body: body, bypassed: false)
            storeIfAllowed(answer, usage: usage, keyed: keyed, controls: controls, in: store)
            return .fresh(answer, usage: usage)
        }
        let now = Date().timeIntervalSince1970
        switch (result, role) {
        case (.cached(let stored), _):
            sidecar.stats.recordHit(usage: stored.usage)
            return Self.response(for: stored, key: keyed.key, now: now)
        case (.fresh(let answer, let usage), .follower) where answer.isSuccess:
            // Answered without an upstream call of its own: a hit in every sense that costs.
            sidecar.stats.recordHit(usage: usage ?? .zero)
            return Self.response(for: answer, key: keyed.key, outcome: "HIT")
        case (.fresh(let answer, _), .follower):
            sidecar.stats.recordForwarded(bypassed: false, cacheable: true, usage: nil, upstreamError: false)
            return Self.response(for: answer, key: keyed.key, outcome: "MISS")
        case (.fresh(let answer, _), .leader):
            return Self.response(for: answer, key: keyed.key, outcome: "MISS")
        }
    }

    /// A forward that skips the single flight: `no-cache` requests, or no cache at all.
    private func forward(
        _ request: Request, body: ByteBuffer, keyed: KeyedRequest, outcome: String,
        storeIn store: CacheStore? = nil, controls: CacheControls? = nil
    ) async throws -> Response {
        let (answer, usage) = try await fetch(request, body: body, bypassed: true)
        if let store, let controls {
            storeIfAllowed(answer, usage: usage, keyed: keyed, controls: controls, in: store)
        }
        return Self.response(for: answer, key: keyed.key, outcome: outcome)
    }

    /// One upstream call for a whole answer, counted in the stats either way.
    private func fetch(_ request: Request, body: ByteBuffer, bypassed: Bool) async throws -> (UpstreamAnswer, TokenUsage?) {
        let answer: UpstreamAnswer
        do {
            answer = try await sidecar.upstream.fetch(sidecar.upstream.makeRequest(request, body: .bytes(body)), logger: sidecar.logger)
        } catch {
            sidecar.stats.recordForwarded(bypassed: bypassed, cacheable: true, usage: nil, upstreamError: true)
            throw error
        }
        let usage = answer.body.withUnsafeReadableBytes { TokenUsage(responseBody: $0) }
        sidecar.stats.recordForwarded(bypassed: bypassed, cacheable: true, usage: usage, upstreamError: !answer.isSuccess)
        return (answer, usage)
    }

    /// Only complete 2xx answers are stored, and never against `no-store`.
    private func storeIfAllowed(_ answer: UpstreamAnswer, usage: TokenUsage?, keyed: KeyedRequest, controls: CacheControls, in store: CacheStore) {
        guard answer.isSuccess, !controls.noStore else { return }
        let now = Date().timeIntervalSince1970
        let lifetime = controls.ttl ?? sidecar.config.cache.ttl.seconds
        let cached = CachedResponse(
            status: answer.status.code, contentType: answer.contentType, body: answer.body,
            createdAt: now, expiresAt: now + lifetime, usage: usage ?? .zero
        )
        store.store(keyed.key, NewEntry(route: route, model: keyed.model, response: cached))
    }

    static func response(for answer: UpstreamAnswer, key: CacheKey, outcome: String) -> Response {
        var headers = answer.headers
        headers[CachetteHeaders.xCache] = outcome
        headers[CachetteHeaders.key] = key.hex
        return Response(status: answer.status, headers: headers, body: .init(byteBuffer: answer.body))
    }

    // MARK: Streams

    /// Forwards a `stream: true` request and relays the upstream's bytes as they arrive.
    private func relayStream(_ request: Request, body: ByteBuffer, keyed: KeyedRequest) async throws -> Response {
        try await sidecar.relay(sidecar.upstream.makeRequest(request, body: .bytes(body)), cacheable: true, key: keyed.key)
    }
}

import AsyncHTTPClient
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
        let limit = sidecar.config.server.maxBodyBytes
        // Refuse a declared oversize body before reading any of it.
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            sidecar.stats.recordRejected()
            throw APIError.tooLarge(limit: limit)
        }
        let body = try await request.body.collect(upTo: limit)
        let controls = try CacheControls(request.headers)
        let scope = sidecar.config.cache.scope == .shared ? "" : ForwardedHeaders.credential(request.headers)
        let keyed = try key(body, scope: scope)

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

    private func key(_ body: ByteBuffer, scope: String) throws(APIError) -> KeyedRequest {
        let result = body.withUnsafeReadableBytes { raw in
            Result { () throws(InvalidRequest) in try sidecar.keyer.key(route: route, scope: scope, body: raw) }
        }
        switch result {
        case .success(let keyed):
            return keyed
        case .failure(let invalid):
            sidecar.stats.recordRejected()
            throw APIError.badRequest(invalid)
        }
    }

    // MARK: Hit

    static func response(for hit: CachedResponse, key: CacheKey, now: Double, outcome: String = "HIT") -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(4)
        headers[.contentType] = hit.contentType
        headers[CachetteHeaders.xCache] = outcome
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
        let (result, role) = try await sidecar.flights.run(keyed.key) { [sidecar, route] in
            // A flight for this key may have finished and stored between our lookup and now.
            if let stored = store.lookup(keyed.key, now: Date().timeIntervalSince1970) {
                return .cached(stored)
            }
            let answer: UpstreamAnswer
            do {
                answer = try await sidecar.upstream.fetch(sidecar.upstream.makeRequest(request, body: .bytes(body)), logger: sidecar.logger)
            } catch {
                sidecar.stats.recordForwarded(bypassed: false, cacheable: true, usage: nil, upstreamError: true)
                throw error
            }
            let usage = answer.body.withUnsafeReadableBytes { TokenUsage(responseBody: $0) }
            sidecar.stats.recordForwarded(bypassed: false, cacheable: true, usage: usage, upstreamError: !answer.isSuccess)
            if answer.isSuccess && !controls.noStore {
                Self.store(answer, usage: usage, key: keyed.key, route: route, model: keyed.model, ttl: controls.ttl, in: store, sidecar: sidecar)
            }
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
        let answer: UpstreamAnswer
        do {
            answer = try await sidecar.upstream.fetch(sidecar.upstream.makeRequest(request, body: .bytes(body)), logger: sidecar.logger)
        } catch {
            sidecar.stats.recordForwarded(bypassed: true, cacheable: true, usage: nil, upstreamError: true)
            throw error
        }
        let usage = answer.body.withUnsafeReadableBytes { TokenUsage(responseBody: $0) }
        sidecar.stats.recordForwarded(bypassed: true, cacheable: true, usage: usage, upstreamError: !answer.isSuccess)
        if let store, let controls, answer.isSuccess, !controls.noStore {
            Self.store(answer, usage: usage, key: keyed.key, route: route, model: keyed.model, ttl: controls.ttl, in: store, sidecar: sidecar)
        }
        return Self.response(for: answer, key: keyed.key, outcome: outcome)
    }

    private static func store(
        _ answer: UpstreamAnswer, usage: TokenUsage?, key: CacheKey, route: String, model: String,
        ttl: Double?, in store: CacheStore, sidecar: Sidecar
    ) {
        let now = Date().timeIntervalSince1970
        let lifetime = ttl ?? sidecar.config.cache.ttl.seconds
        let cached = CachedResponse(
            status: answer.status.code, contentType: answer.contentType, body: answer.body,
            createdAt: now, expiresAt: now + lifetime, usage: usage ?? .zero
        )
        store.store(key, NewEntry(route: route, model: model, response: cached))
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
        let response: HTTPClientResponse
        do {
            response = try await sidecar.upstream.send(sidecar.upstream.makeRequest(request, body: .bytes(body)), logger: sidecar.logger)
        } catch {
            sidecar.stats.recordForwarded(bypassed: true, cacheable: true, usage: nil, upstreamError: true)
            throw error
        }
        let ok = (200..<300).contains(Int(response.status.code))
        sidecar.stats.recordForwarded(bypassed: true, cacheable: true, usage: nil, upstreamError: !ok)
        var headers = ForwardedHeaders.response(response.headers)
        headers[CachetteHeaders.xCache] = "BYPASS"
        headers[CachetteHeaders.key] = keyed.key.hex
        return Response(
            status: .init(code: Int(response.status.code)),
            headers: headers,
            body: .init(asyncSequence: response.body)
        )
    }
}

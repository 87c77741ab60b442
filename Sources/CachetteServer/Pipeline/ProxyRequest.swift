import CachetteCore
import Hummingbird
import NIOCore

/// One cached-route request, built once by `RequestIntake` and taken by every later
/// stage: its body as sent, its key, its controls and its compression level.
struct ProxyRequest: Sendable {
    let route: CachedRoute
    /// The client's request; its body is already read into `body`.
    let request: Request
    let body: ByteBuffer
    let keyed: KeyedRequest
    let controls: CacheControls
    let level: CompressionLevel
    let arrived: ContinuousClock.Instant
    /// Nil while telemetry is off.
    var trace: RequestTrace?
    let booking: RequestBooking

    var key: CacheKey { keyed.key }
    var model: String { keyed.model }
    var stream: Bool { keyed.stream }

    /// Books the request as `outcome`, its latency measured to now (once: see `RequestBooking`).
    func book(
        _ outcome: RequestOutcome, usage: TokenUsage? = nil, counted: Bool = false, compression: CompressionTally = CompressionTally()
    ) {
        booking.book(
            BookedRequest(
                route: route.path, model: keyed.model, outcome: outcome, streamed: keyed.stream, usage: usage, counted: counted,
                compression: compression, latency: ContinuousClock.now - arrived, trace: trace
            ))
    }
}

/// The prepare stage: reads the body (once), parses the controls, and keys the request
/// in one pass over the body, one hash.
struct RequestIntake: Sendable {
    let route: CachedRoute
    let maxBodyBytes: Int
    let keyer: RequestKeyer
    let scope: RequestScope
    /// `compression.level`, for requests that do not set their own.
    let compression: CompressionLevel
    /// This route's recent keys: a repeated body is keyed by one hash.
    let memo = KeyMemo()

    func prepare(
        _ request: Request, arrived: ContinuousClock.Instant, trace: RequestTrace?, booking: RequestBooking
    ) async throws(APIError) -> ProxyRequest {
        let body = try await BodyReader.read(request, limit: maxBodyBytes)
        return try prepare(request, body: body, arrived: arrived, trace: trace, booking: booking)
    }

    /// The same, for a body already read (the fast lane's, read on the event loop).
    func prepare(
        _ request: Request, body: ByteBuffer, arrived: ContinuousClock.Instant, trace: RequestTrace?, booking: RequestBooking
    ) throws(APIError) -> ProxyRequest {
        let controls = try CacheControls(request.headers)
        let level = route.compresses ? controls.compression ?? compression : .off
        let scope = scope.scope(request.head, level: level)
        let result = body.withUnsafeReadableBytes { raw in
            Result { () throws(InvalidRequest) in
                try memo.keyed(scope: scope, body: raw) { () throws(InvalidRequest) in try keyer.key(route: route.path, scope: scope, body: raw) }
            }
        }
        switch result {
        case .success(let keyed):
            return ProxyRequest(
                route: route, request: request, body: body, keyed: keyed, controls: controls, level: level, arrived: arrived, trace: trace,
                booking: booking)
        case .failure(let invalid):
            throw APIError.badRequest(invalid)
        }
    }
}

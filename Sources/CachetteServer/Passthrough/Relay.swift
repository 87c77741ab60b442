import AsyncHTTPClient
import CachetteCore
import Foundation
import Hummingbird
import Logging

/// Sends a request upstream and streams the answer back as it arrives, uncached
/// (`X-Cache: BYPASS`): the endpoints Cachette does not cache. Each is booked as a
/// `passthrough` request, `bypass` or `error`.
struct Relay: Sendable {
    let client: UpstreamClient
    let accounting: Accounting
    let logger: Logger
    /// `cache.mode: offline`: nothing is relayed.
    let offline: Bool

    /// Relays the request `prepare` makes; a refusal there is booked as `rejected`.
    func relay(_ prepare: () async throws(APIError) -> (HTTPClientRequest, CachetteConfig.Upstream)) async throws -> Response {
        let outgoing: HTTPClientRequest, upstream: CachetteConfig.Upstream
        do {
            (outgoing, upstream) = try await prepare()
        } catch {
            return answer(error, .rejected, since: .now)
        }
        return try await relay(outgoing, to: upstream)
    }

    func relay(_ outgoing: HTTPClientRequest, to upstream: CachetteConfig.Upstream) async throws -> Response {
        if offline { return answer(APIError.offline(path: URL(string: outgoing.url)?.path ?? outgoing.url), .rejected, since: .now) }
        let started = ContinuousClock.now
        let response: HTTPClientResponse
        do {
            response = try await client.send(outgoing, upstream: upstream, logger: logger)
        } catch {
            return answer(error, .error, since: started)
        }
        let status = HTTPResponse.Status(code: Int(response.status.code))
        let outcome: RequestOutcome = (200..<300).contains(status.code) ? .bypass : .error
        book(outcome, since: started)
        var headers = ForwardedHeaders.response(response.headers)
        headers[CachetteHeaders.xCache] = outcome.xCache
        guard let idle = client.idleLimit(upstream) else {
            return Response(status: status, headers: headers, body: .init(asyncSequence: response.body))
        }
        return Response(status: status, headers: headers, body: .init(asyncSequence: IdleLimitedBody(base: response.body, idle: idle)))
    }

    /// A refusal or failure as the client gets it, booked, and named in `X-Cache` as booked.
    func answer(_ error: APIError, _ outcome: RequestOutcome, since started: ContinuousClock.Instant) -> Response {
        book(outcome, since: started, timed: outcome != .rejected)
        var response = error.response
        response.headers[CachetteHeaders.xCache] = outcome.xCache
        return response
    }

    /// Books a passthrough request; `timed` ones (that reached an upstream) in the latency histogram too.
    func book(_ outcome: RequestOutcome, since started: ContinuousClock.Instant, timed: Bool = true) {
        let latency = ContinuousClock.now - started
        accounting.record(BookedRequest(route: Passthrough.route, model: "", outcome: outcome, latency: latency))
        // Time to the response head, as for the cached routes.
        if timed { accounting.duration(route: Passthrough.route, latency) }
    }
}

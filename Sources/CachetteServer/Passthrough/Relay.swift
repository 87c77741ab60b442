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
            book(.rejected, since: .now, timed: false)
            throw error
        }
        return try await relay(outgoing, to: upstream)
    }

    /// Refuses, and books, a request that would go upstream while offline.
    func checkOnline(_ what: String) throws(APIError) {
        guard offline else { return }
        book(.rejected, since: .now, timed: false)
        throw APIError.offline(path: URL(string: what)?.path ?? what)
    }

    func relay(_ outgoing: HTTPClientRequest, to upstream: CachetteConfig.Upstream) async throws -> Response {
        try checkOnline(outgoing.url)
        let started = ContinuousClock.now
        let response: HTTPClientResponse
        do {
            response = try await client.send(outgoing, upstream: upstream, logger: logger)
        } catch {
            book(.error, since: started)
            throw error
        }
        let status = HTTPResponse.Status(code: Int(response.status.code))
        book((200..<300).contains(status.code) ? .bypass : .error, since: started)
        var headers = ForwardedHeaders.response(response.headers)
        headers[CachetteHeaders.xCache] = "BYPASS"
        return Response(status: status, headers: headers, body: .init(asyncSequence: response.body))
    }

    /// Books a passthrough request; `timed` ones (that reached an upstream) in the latency histogram too.
    func book(_ outcome: RequestOutcome, since started: ContinuousClock.Instant, timed: Bool = true) {
        let latency = ContinuousClock.now - started
        accounting.record(RequestEvent(route: Passthrough.route, model: "", outcome: outcome, latency: latency))
        // Time to the response head, as for the cached routes.
        if timed { accounting.duration(route: Passthrough.route, latency) }
    }
}

import AsyncHTTPClient
import CachetteCore
import Hummingbird
import Logging

/// The shared state every route works with, built once at start-up.
final class Sidecar: Sendable {
    let config: CachetteConfig
    /// Nil when `cache.enabled: false`: everything is forwarded.
    let store: CacheStore?
    let stats: StatsCounters
    let ledger: Ledger
    let metrics = CachetteMetrics(routes: CachetteApplication.cachedRoutes + [Passthrough.route])
    let keyer: RequestKeyer
    /// Whose entries a request may see.
    let scope: RequestScope
    /// Tags credentials in logs.
    let fingerprint: CredentialFingerprint
    let upstream: UpstreamClient
    /// `config.routes`, tried in order.
    let routes: [CachetteConfig.Route]
    let flights = SingleFlight<CacheKey, FlightResult>()
    let logger: Logger
    let startedAt = ContinuousClock.now

    init(config: CachetteConfig, store: CacheStore?, stats: StatsCounters, ledger: Ledger, logger: Logger) {
        self.config = config
        self.store = store
        self.stats = stats
        self.ledger = ledger
        self.keyer = RequestKeyer(keyFields: config.cache.keyFields)
        self.scope = RequestScope(cache: config.cache)
        // Keyed per cache file, so tags stay stable across restarts; random without one.
        let salt = try? store?.fingerprintSalt()
        self.fingerprint = salt.map(CredentialFingerprint.init(salt:)) ?? .random()
        self.upstream = UpstreamClient(config: config.upstream)
        self.routes = config.routes
        self.logger = logger
    }
}

extension Sidecar {
    /// The first route whose patterns match the model, else the `default` route; one
    /// that speaks `format` (nil: any), as a request to `path` does.
    func route(for model: String, path: String, format: CachetteConfig.Route.Format? = .openai) throws(APIError) -> CachetteConfig.Route {
        guard let route = CachetteConfig.route(for: model, in: routes) else { throw APIError.noRoute(model: model) }
        guard format == nil || route.format == format else { throw APIError.needsTranslation(route: route.name, path: path) }
        return route
    }

    /// Who owns models no upstream lists, in `/v1/models`: the `default` route, else the first.
    var fallbackRoute: CachetteConfig.Route { routes.first(where: \.isDefault) ?? routes[0] }

    /// Sends a request upstream and streams the answer back as it arrives, uncached
    /// (`X-Cache: BYPASS`): the endpoints Cachette does not cache.
    func relay(_ outgoing: HTTPClientRequest, route: CachetteConfig.Route) async throws -> Response {
        let started = ContinuousClock.now
        // Time to the response head, as for the cached routes.
        defer { metrics.duration(route: Passthrough.route, ContinuousClock.now - started) }
        let response: HTTPClientResponse
        do {
            response = try await upstream.send(outgoing, route: route, logger: logger)
        } catch {
            stats.recordForwarded(bypassed: false, cacheable: false, usage: nil, upstreamError: true)
            metrics.request(route: Passthrough.route, outcome: "error")
            throw error
        }
        let status = HTTPResponse.Status(code: Int(response.status.code))
        let failed = !(200..<300).contains(status.code)
        stats.recordForwarded(bypassed: false, cacheable: false, usage: nil, upstreamError: failed)
        metrics.request(route: Passthrough.route, outcome: failed ? "error" : "bypass")
        var headers = ForwardedHeaders.response(response.headers)
        headers[CachetteHeaders.xCache] = "BYPASS"
        return Response(status: status, headers: headers, body: .init(asyncSequence: response.body))
    }
}

/// What the one upstream call of a single flight produced, shared by its waiters.
enum FlightResult: Sendable {
    /// The leader found the entry stored by a flight that finished just before it.
    case cached(CachedResponse)
    case fresh(UpstreamAnswer, usage: TokenUsage?)
    /// A live upstream stream that joiners read from its first event.
    case stream(StreamFlight)
}

import CachetteCore
import Logging

/// The shared state every route works with, built once at start-up.
final class Sidecar: Sendable {
    let config: CachetteConfig
    /// Nil when `cache.enabled: false`: everything is forwarded.
    let store: CacheStore?
    let stats: StatsCounters
    let keyer: RequestKeyer
    let upstream: UpstreamClient
    let flights = SingleFlight<CacheKey, FlightResult>()
    let logger: Logger
    let startedAt = ContinuousClock.now

    init(config: CachetteConfig, store: CacheStore?, stats: StatsCounters, logger: Logger) {
        self.config = config
        self.store = store
        self.stats = stats
        self.keyer = RequestKeyer(keyFields: config.cache.keyFields)
        self.upstream = UpstreamClient(config: config.upstream)
        self.logger = logger
    }
}

/// What the one upstream call of a single flight produced, shared by its waiters.
enum FlightResult: Sendable {
    /// The leader found the entry stored by a flight that finished just before it.
    case cached(CachedResponse)
    case fresh(UpstreamAnswer, usage: TokenUsage?)
}

import CachetteCore
import CoreMetrics
import Metrics
import Prometheus

/// The sidecar's Prometheus metrics, made through swift-metrics with a registry of
/// the sidecar's own (not the process-wide `MetricsSystem`, so several sidecars, as
/// in the tests, never share counters). Every handle is made up front, so recording
/// on the hit path is an atomic add, never a lookup by name.
final class CachetteMetrics: Sendable {
    static let tokenKinds = ["input", "output", "saved_cache", "saved_compression"]

    let registry = PrometheusCollectorRegistry()
    private let requests: [String: [RequestOutcome: CoreMetrics.Counter]]
    private let durations: [String: CoreMetrics.Timer]
    private let hits: CoreMetrics.Counter
    private let misses: CoreMetrics.Counter
    private let tokens: [String: CoreMetrics.Counter]
    private let bytesStored: CoreMetrics.Gauge
    private let entriesStored: CoreMetrics.Gauge
    /// 2xx answers relayed but not stored (`StatsSnapshot.invalidAnswers`).
    let invalidAnswers: CoreMetrics.Counter
    /// Requests a browser guard refused, by `reason` (host, origin).
    let refusedHost: CoreMetrics.Counter
    let refusedOrigin: CoreMetrics.Counter
    private let usageClamped: CoreMetrics.Gauge
    private let droppedWrites: CoreMetrics.Gauge
    /// Failed misses answered stale (stale-if-error).
    let staleServed: CoreMetrics.Counter
    /// The shared tier's state and counts, read from it at scrape time.
    private let sharedUp: CoreMetrics.Gauge
    private let sharedGauges: SharedGauges

    init(routes: [String]) {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Hits take well under a millisecond; misses take as long as the model does.
        factory.durationHistogramBuckets["cachette_request_duration_seconds"] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        var requests: [String: [RequestOutcome: CoreMetrics.Counter]] = [:]
        var durations: [String: CoreMetrics.Timer] = [:]
        for route in routes {
            for outcome in RequestOutcome.allCases {
                requests[route, default: [:]][outcome] = CoreMetrics.Counter(
                    label: "cachette_requests_total", dimensions: [("route", route), ("outcome", outcome.rawValue)], factory: factory
                )
            }
            durations[route] = CoreMetrics.Timer(label: "cachette_request_duration_seconds", dimensions: [("route", route)], factory: factory)
        }
        self.requests = requests
        self.durations = durations
        hits = CoreMetrics.Counter(label: "cachette_cache_hits_total", factory: factory)
        misses = CoreMetrics.Counter(label: "cachette_cache_misses_total", factory: factory)
        tokens = Dictionary(
            uniqueKeysWithValues: Self.tokenKinds.map {
                ($0, CoreMetrics.Counter(label: "cachette_tokens_total", dimensions: [("kind", $0)], factory: factory))
            })
        bytesStored = CoreMetrics.Gauge(label: "cachette_cache_bytes", factory: factory)
        entriesStored = CoreMetrics.Gauge(label: "cachette_cache_entries", factory: factory)
        invalidAnswers = CoreMetrics.Counter(label: "cachette_invalid_answers_total", factory: factory)
        refusedHost = CoreMetrics.Counter(label: "cachette_refused_total", dimensions: [("reason", "host")], factory: factory)
        refusedOrigin = CoreMetrics.Counter(label: "cachette_refused_total", dimensions: [("reason", "origin")], factory: factory)
        usageClamped = CoreMetrics.Gauge(label: "cachette_usage_clamped_total", factory: factory)
        droppedWrites = CoreMetrics.Gauge(label: "cachette_cache_dropped_writes_total", factory: factory)
        staleServed = CoreMetrics.Counter(label: "cachette_stale_served_total", factory: factory)
        sharedUp = CoreMetrics.Gauge(label: "cachette_shared_up", factory: factory)
        sharedGauges = SharedGauges(factory: factory)
    }

    func request(route: String, outcome: RequestOutcome) {
        requests[route]?[outcome]?.increment()
        if outcome == .hit { hits.increment() } else if outcome == .miss { misses.increment() }
    }

    func duration(route: String, _ elapsed: Duration) {
        durations[route]?.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    func tokens(_ kind: String, _ count: Int) {
        if count > 0 { tokens[kind]?.increment(by: count) }
    }

    /// The Prometheus text, with the store's sizes read at scrape time.
    func scrape(totals: StoreTotals, shared: SharedStatus?) -> [UInt8] {
        if let shared {
            sharedUp.record(shared.state == .up ? 1 : 0)
            sharedGauges.record(shared.counts)
        }
        bytesStored.record(totals.bytes)
        entriesStored.record(totals.entries)
        // Process-wide: counted where usage is parsed, in CachetteCore.
        usageClamped.record(TokenUsage.clamps)
        droppedWrites.record(totals.droppedWrites)
        return registry.emitToBuffer()
    }
}

/// `cachette_shared_*`: the shared tier's counts, copied from it at scrape time.
private struct SharedGauges: Sendable {
    let hits, misses, timeouts, errors, flightWaits, flightTimeouts, writes, droppedWrites, pruned: CoreMetrics.Gauge

    init(factory: PrometheusMetricsFactory) {
        func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
            CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory)
        }
        hits = gauge("cachette_shared_reads_total", [("result", "hit")])
        misses = gauge("cachette_shared_reads_total", [("result", "miss")])
        timeouts = gauge("cachette_shared_reads_total", [("result", "timeout")])
        errors = gauge("cachette_shared_errors_total")
        flightWaits = gauge("cachette_shared_flight_waits_total")
        flightTimeouts = gauge("cachette_shared_flight_timeouts_total")
        writes = gauge("cachette_shared_writes_total")
        droppedWrites = gauge("cachette_shared_dropped_writes_total")
        pruned = gauge("cachette_shared_pruned_total")
    }

    func record(_ counts: SharedCounts) {
        hits.record(counts.hits)
        misses.record(counts.misses)
        timeouts.record(counts.timeouts)
        errors.record(counts.errors)
        flightWaits.record(counts.flightWaits)
        flightTimeouts.record(counts.flightTimeouts)
        writes.record(counts.writes)
        droppedWrites.record(counts.droppedWrites)
        pruned.record(counts.pruned)
    }
}

import CachetteCore
import CachetteShared
import Prometheus
import Synchronization

/// The sidecar's Prometheus metrics, in a registry of its own (several sidecars, as in
/// the tests, never share counters). Made through swift-prometheus's registry rather
/// than swift-metrics' factory, which cannot give a series its `# HELP` line.
///
/// Fixed series are made up front. Per-model ones are made the first time a model is
/// booked, under one lock: a dictionary lookup on the hit path, never a scan. Model
/// names come from clients, so they are the ledger's (`other` past
/// `accounting.max_models`); requests that named none carry `model="(none)"`, as in the ledger.
final class CachetteMetrics: Sendable {

    let registry: PrometheusCollectorRegistry
    private let durations: [String: DurationHistogram]
    private let hits: Counter
    private let misses: Counter
    private let bytesStored: Gauge
    private let entriesStored: Gauge
    /// 2xx answers relayed but not stored (`StatsSnapshot.invalidAnswers`).
    let invalidAnswers: Counter
    /// Requests a browser guard refused, by `reason` (host, origin).
    let refusedHost: Counter
    let refusedOrigin: Counter
    /// Hits the fast lane answered on the event loop (also in `hits`).
    let fastLaneAnswers: Counter
    private let usageClamped: MirroredCounter
    private let droppedWrites: MirroredCounter
    /// Failed misses answered stale (stale-if-error).
    private let staleServed: Counter
    /// The shared tier's state and counts, read from it at scrape time.
    private let sharedUp: Gauge
    private let sharedGauges: SharedGauges
    private let steeringSeries: SteeringSeries

    private struct RequestSeries: Hashable {
        var route: String
        var outcome: RequestOutcome
        var model: String
    }

    /// One model's counters, by field: the hit path adds to them without building a
    /// list or looking a kind up by name.
    private struct ModelSeries {
        let input, output, savedCacheTokens, savedCompressionTokens: Counter
        let spent, savedCacheUSD, savedCompressionUSD, providerReadSavings, providerWritePremium: Counter

        init(model: String, registry: PrometheusCollectorRegistry) {
            func tokens(_ kind: String) -> Counter {
                registry.counter(name: "cachette_tokens_total", labels: [("model", model), ("kind", kind)], help: Help.tokens)
            }
            func dollars(_ kind: String) -> Counter {
                registry.counter(name: "cachette_cost_usd_total", labels: [("model", model), ("kind", kind)], help: Help.cost)
            }
            input = tokens("input")
            output = tokens("output")
            savedCacheTokens = tokens("saved_cache")
            savedCompressionTokens = tokens("saved_compression")
            spent = dollars("spent")
            savedCacheUSD = dollars("saved_cache")
            savedCompressionUSD = dollars("saved_compression")
            providerReadSavings = dollars("provider_cache_read_savings")
            providerWritePremium = dollars("provider_cache_write_premium")
        }
    }

    private struct PerModel {
        var requests: [RequestSeries: Counter] = [:]
        var models: [String: ModelSeries] = [:]

        mutating func requestCounter(_ key: RequestSeries, in registry: PrometheusCollectorRegistry) -> Counter {
            if let known = requests[key] { return known }
            let counter = registry.counter(
                name: "cachette_requests_total", labels: [("route", key.route), ("outcome", key.outcome.rawValue), ("model", key.model)],
                help: Help.requests)
            requests[key] = counter
            return counter
        }

        mutating func series(_ model: String, in registry: PrometheusCollectorRegistry) -> ModelSeries {
            if let known = models[model] { return known }
            let made = ModelSeries(model: model, registry: registry)
            models[model] = made
            return made
        }
    }

    private let perModel = Mutex(PerModel())

    private enum Help {
        static let requests =
            "Requests by route, outcome (hit, stale, miss, bypass, rejected, error, local) and model; model is empty for passthrough routes and rejected requests."
        static let tokens =
            "Tokens by model and kind: input and output paid upstream, saved_cache served from cache, saved_compression removed by compression."
        static let cost =
            "US dollars by model and kind: spent upstream, saved_cache by answers served from cache, saved_compression by compression, provider_cache_read_savings by the provider's prompt cache's reads (against the input price), provider_cache_write_premium paid for its writes (over the input price)."
    }

    init(routes: [String]) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        // Hits take well under a millisecond; misses take as long as the model does.
        let buckets: [Duration] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        durations = Dictionary(
            uniqueKeysWithValues: routes.map { route in
                (
                    route,
                    registry.histogram(
                        name: "cachette_request_duration_seconds", labels: [("route", route)], buckets: buckets,
                        help: "Time from a request's arrival to its response head (to the end of the stream for streamed misses).")
                )
            })
        hits = registry.counter(name: "cachette_cache_hits_total", help: "Requests answered from the cache.")
        misses = registry.counter(name: "cachette_cache_misses_total", help: "Requests not in the cache that the upstream answered.")
        bytesStored = registry.gauge(name: "cachette_cache_bytes", help: "Bytes the SQLite tier stores (compressed bodies and overhead).")
        entriesStored = registry.gauge(name: "cachette_cache_entries", help: "Entries the SQLite tier stores.")
        invalidAnswers = registry.counter(
            name: "cachette_invalid_answers_total", help: "2xx answers relayed but not stored: incomplete or malformed.")
        let refused = "Requests refused to web pages: reason host (DNS rebinding) or origin (another site)."
        refusedHost = registry.counter(name: "cachette_refused_total", labels: [("reason", "host")], help: refused)
        refusedOrigin = registry.counter(name: "cachette_refused_total", labels: [("reason", "origin")], help: refused)
        fastLaneAnswers = registry.counter(
            name: "cachette_fast_lane_answers_total",
            help: "Hits answered on the connection's event loop (server.fast_lane); also in cachette_cache_hits_total.")
        usageClamped = MirroredCounter(
            registry.counter(name: "cachette_usage_clamped_total", help: "Token counts from answers that were out of range and clamped."))
        droppedWrites = MirroredCounter(
            registry.counter(name: "cachette_cache_dropped_writes_total", help: "Answers not stored because the write queue was full."))
        staleServed = registry.counter(
            name: "cachette_stale_served_total", help: "Requests whose upstream failed, answered with a stored answer past its TTL.")
        sharedUp = registry.gauge(name: "cachette_shared_up", help: "1 while the shared PostgreSQL tier is up, else 0.")
        sharedGauges = SharedGauges(registry: registry)
        steeringSeries = SteeringSeries(registry: registry)
        // Present from the start, so a scrape before the first request has every name.
        perModel.withLock { [registry] state in
            for route in routes {
                _ = state.requestCounter(RequestSeries(route: route, outcome: .hit, model: Ledger.noModel), in: registry)
            }
            _ = state.series(Ledger.noModel, in: registry)
        }
    }

    /// Books one request: its outcome, tokens and dollars, under the model the ledger
    /// booked it as.
    func record(_ request: BookedRequest, booked: Ledger.Booking) {
        let model = booked.model
        let (requests, series) = perModel.withLock { [registry] state in
            (
                state.requestCounter(RequestSeries(route: request.route, outcome: request.outcome, model: model), in: registry),
                state.series(model, in: registry)
            )
        }
        requests.increment()
        func add(_ count: Int, to counter: Counter) { if count > 0 { counter.increment(by: Int64(count)) } }
        switch request.outcome {
        case .hit:
            hits.increment()
            add(request.usage?.total ?? 0, to: series.savedCacheTokens)
        case .stale:
            staleServed.increment()
        case .miss, .bypass, .error:
            if request.outcome == .miss { misses.increment() }
            add(request.usage?.promptTokens ?? 0, to: series.input)
            add(request.usage?.completionTokens ?? 0, to: series.output)
            add(request.compression.saved, to: series.savedCompressionTokens)
        case .local:
            add(request.compression.saved, to: series.savedCompressionTokens)
        case .rejected: break
        }
        func addDollars(_ dollars: Double, to counter: Counter) { if dollars > 0 && dollars.isFinite { counter.increment(by: dollars) } }
        addDollars(booked.spent, to: series.spent)
        addDollars(booked.saved - booked.savedByCompression, to: series.savedCacheUSD)
        addDollars(booked.savedByCompression, to: series.savedCompressionUSD)
        addDollars(booked.providerReadSavings, to: series.providerReadSavings)
        addDollars(booked.providerWritePremium, to: series.providerWritePremium)
    }

    func duration(route: String, _ elapsed: Duration) {
        durations[route]?.record(elapsed)
    }

    /// The Prometheus text, with the store's sizes and steering's counts read at scrape time.
    func scrape(totals: StoreTotals, shared: SharedStatus?, steering: PromptCacheSteering.Counters) -> [UInt8] {
        steeringSeries.record(steering)
        if let shared {
            sharedUp.set(to: shared.state == .up ? 1.0 : 0.0)
            sharedGauges.record(shared.counts)
        }
        bytesStored.set(to: Double(totals.bytes))
        entriesStored.set(to: Double(totals.entries))
        // Process-wide: counted where usage is parsed, in CachetteCore.
        usageClamped.record(total: TokenUsage.clamps)
        droppedWrites.record(total: totals.droppedWrites)
        return registry.emitToBuffer()
    }
}

/// swift-prometheus's registry with a `# HELP` line for every series.
extension PrometheusCollectorRegistry {
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    func counter(name: String, labels: [(String, String)] = [], help: String) -> Counter {
        makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
    }

    func gauge(name: String, labels: [(String, String)] = [], help: String) -> Gauge {
        makeGauge(descriptor: Self.descriptor(name, help), labels: labels)
    }

    func histogram(name: String, labels: [(String, String)], buckets: [Duration], help: String) -> DurationHistogram {
        makeDurationHistogram(descriptor: Self.descriptor(name, help), labels: labels, buckets: buckets)
    }
}

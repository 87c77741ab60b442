import CachetteCore
import CachetteShared
import Prometheus
import Synchronization

// Series copied, at scrape time, from counts kept elsewhere.

/// `cachette_prompt_cache_*`: what Anthropic breakpoint steering did.
struct SteeringSeries: Sendable {
    let added, wouldNotPay, tooShort, clientMarked: MirroredCounter
    let prefixes: Gauge

    init(registry: PrometheusCollectorRegistry) {
        added = MirroredCounter(
            registry.counter(name: "cachette_prompt_cache_breakpoints_total", help: "cache_control breakpoints added to Anthropic requests."))
        let skipped =
            "Breakpoints not added, by reason: would_not_pay (no read expected to repay the write), too_short (under the model's minimum), client_marked (the client placed its own)."
        func skip(_ reason: String) -> MirroredCounter {
            MirroredCounter(registry.counter(name: "cachette_prompt_cache_skipped_total", labels: [("reason", reason)], help: skipped))
        }
        wouldNotPay = skip("would_not_pay")
        tooShort = skip("too_short")
        clientMarked = skip("client_marked")
        prefixes = registry.gauge(
            name: "cachette_prompt_cache_prefixes", help: "Prefix hashes steering remembers (prompt_cache.max_prefixes bounds them).")
    }

    func record(_ counters: PromptCacheSteering.Counters) {
        added.record(total: counters.breakpointsAdded)
        wouldNotPay.record(total: counters.markersSkipped)
        tooShort.record(total: counters.markersTooShort)
        clientMarked.record(total: counters.clientMarked)
        prefixes.set(to: Double(counters.prefixesRemembered))
    }
}

/// `cachette_shared_*`: the shared tier's counts, copied from it at scrape time.
struct SharedGauges: Sendable {
    let hits, misses, timeouts, errors, flightWaits, flightTimeouts, writes, droppedWrites, pruned: MirroredCounter

    init(registry: PrometheusCollectorRegistry) {
        let reads = "Shared-tier reads by result: hit, miss, timeout."
        func counter(_ name: String, _ labels: [(String, String)] = [], help: String) -> MirroredCounter {
            MirroredCounter(registry.counter(name: name, labels: labels, help: help))
        }
        hits = counter("cachette_shared_reads_total", [("result", "hit")], help: reads)
        misses = counter("cachette_shared_reads_total", [("result", "miss")], help: reads)
        timeouts = counter("cachette_shared_reads_total", [("result", "timeout")], help: reads)
        errors = counter("cachette_shared_errors_total", help: "Shared-tier reads and writes that failed.")
        flightWaits = counter("cachette_shared_flight_waits_total", help: "Misses that waited for another replica's upstream call.")
        flightTimeouts = counter("cachette_shared_flight_timeouts_total", help: "Waits for another replica that passed its deadline.")
        writes = counter("cachette_shared_writes_total", help: "Entries written to the shared tier.")
        droppedWrites = counter("cachette_shared_dropped_writes_total", help: "Entries not written to the shared tier: its queue was full.")
        pruned = counter("cachette_shared_pruned_total", help: "Shared entries removed by TTL or the byte budget.")
    }

    func record(_ counts: SharedCounts) {
        hits.record(total: counts.hits)
        misses.record(total: counts.misses)
        timeouts.record(total: counts.timeouts)
        errors.record(total: counts.errors)
        flightWaits.record(total: counts.flightWaits)
        flightTimeouts.record(total: counts.flightTimeouts)
        writes.record(total: counts.writes)
        droppedWrites.record(total: counts.droppedWrites)
        pruned.record(total: counts.pruned)
    }
}

/// A `_total` series kept elsewhere as a running count (the store's, the shared tier's),
/// exposed as a Prometheus counter: each scrape adds what the count grew by since the
/// last, so `rate()` and resets read as they do for any counter.
final class MirroredCounter: Sendable {
    private let counter: Counter
    private let last = Mutex(0)

    init(_ counter: Counter) { self.counter = counter }

    func record(total: Int) {
        let grown = last.withLock { last -> Int in
            defer { last = max(last, total) }
            return max(0, total - last)
        }
        if grown > 0 { counter.increment(by: Int64(grown)) }
    }
}

/// Series with a `# HELP` line; the names carry their own unit suffixes.

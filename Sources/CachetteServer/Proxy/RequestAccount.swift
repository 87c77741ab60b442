import CachetteCore
import Foundation

/// Books one cached-endpoint request in the counters (/stats) and the ledger, in one call
/// per outcome, so the two never disagree.
struct RequestAccount: Sendable {
    let sidecar: Sidecar
    let route: String
    let model: String
    let streamed: Bool

    /// When the request arrived; unstructured tasks started for it (a single flight's
    /// leader) inherit it.
    @TaskLocal static var started: ContinuousClock.Instant?

    private var latencyMs: Double {
        guard let started = Self.started else { return 0 }
        return (ContinuousClock.now - started).seconds * 1000
    }

    private func ledger(
        _ outcome: LedgerOutcome, _ usage: TokenUsage?, counted: Bool = false, compression: CompressionTally = CompressionTally(),
        latencyMs: Double? = nil
    ) {
        sidecar.ledger.record(LedgerRecord(
            time: Date().timeIntervalSince1970, route: route, model: model, outcome: outcome,
            promptTokens: usage?.promptTokens ?? 0, completionTokens: usage?.completionTokens ?? 0,
            cachedPromptTokens: usage?.cachedPromptTokens ?? 0, cacheWritePromptTokens: usage?.cacheWritePromptTokens ?? 0,
            savedCompressionTokens: compression.saved,
            promptTokensBeforeCompression: compression.before,
            counted: counted, latencyMs: latencyMs ?? self.latencyMs
        ))
    }

    private func compressed(_ compression: CompressionTally) {
        guard compression.saved > 0 else { return }
        sidecar.stats.recordCompressed()
        sidecar.metrics.tokens("saved_compression", compression.saved)
    }

    private func paid(_ usage: TokenUsage?) {
        sidecar.metrics.tokens("input", usage?.promptTokens ?? 0)
        sidecar.metrics.tokens("output", usage?.completionTokens ?? 0)
    }

    /// Served from the cache, or from an identical request's answer: `usage` was not paid again.
    func hit(_ usage: TokenUsage) {
        sidecar.stats.recordHit(usage: usage, streamed: streamed)
        sidecar.metrics.request(route: route, outcome: "hit")
        sidecar.metrics.hits.increment()
        sidecar.metrics.tokens("saved_cache", usage.total)
        ledger(.hit, usage)
    }

    /// A whole answer from the upstream (or no answer: `usage` nil and `upstreamError`).
    func forwarded(bypassed: Bool, usage: TokenUsage?, upstreamError: Bool, counted: Bool = false, compression: CompressionTally = CompressionTally()) {
        sidecar.stats.recordForwarded(bypassed: bypassed, cacheable: true, usage: usage, upstreamError: upstreamError, streamed: streamed)
        let outcome: LedgerOutcome = upstreamError ? .error : bypassed ? .bypass : .miss
        sidecar.metrics.request(route: route, outcome: outcome.rawValue)
        if !bypassed { sidecar.metrics.misses.increment() }
        paid(usage)
        compressed(compression)
        ledger(outcome, usage, counted: counted, compression: compression)
    }

    /// Waited for an identical request whose upstream call failed.
    func sharedFailure() {
        sidecar.stats.recordForwarded(bypassed: false, cacheable: true, usage: nil, upstreamError: false, streamed: streamed)
        sidecar.metrics.request(route: route, outcome: "error")
        ledger(.error, nil)
    }

    /// A stream is under way: counted now, its tokens and ledger row come when it ends.
    func streamStarted(bypassed: Bool) {
        sidecar.stats.recordForwarded(bypassed: bypassed, cacheable: true, usage: nil, upstreamError: false, streamed: streamed)
        sidecar.metrics.request(route: route, outcome: bypassed ? "bypass" : "miss")
        if !bypassed { sidecar.metrics.misses.increment() }
    }

    /// The stream's upstream ended; the flight has added its tokens to the counters.
    func streamEnded(bypassed: Bool, usage: TokenUsage?, failed: Bool, counted: Bool, compression: CompressionTally, duration: Duration) {
        paid(usage)
        compressed(compression)
        ledger(failed ? .error : bypassed ? .bypass : .miss, usage, counted: counted, compression: compression, latencyMs: duration.seconds * 1000)
    }

    /// Refused before it could be keyed (bad JSON, too large): in the counters and metrics only.
    func rejected() {
        sidecar.stats.recordRejected()
        sidecar.metrics.request(route: route, outcome: "rejected")
    }
}

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
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }

    private func ledger(_ outcome: LedgerOutcome, _ usage: TokenUsage?, counted: Bool = false, latencyMs: Double? = nil) {
        sidecar.ledger.record(LedgerRecord(
            time: Date().timeIntervalSince1970, route: route, model: model, outcome: outcome,
            promptTokens: usage?.promptTokens ?? 0, completionTokens: usage?.completionTokens ?? 0,
            cachedPromptTokens: usage?.cachedPromptTokens ?? 0, counted: counted, latencyMs: latencyMs ?? self.latencyMs
        ))
    }

    /// Served from the cache, or from an identical request's answer: `usage` was not paid again.
    func hit(_ usage: TokenUsage) {
        sidecar.stats.recordHit(usage: usage, streamed: streamed)
        ledger(.hit, usage)
    }

    /// A whole answer from the upstream (or no answer: `usage` nil and `upstreamError`).
    func forwarded(bypassed: Bool, usage: TokenUsage?, upstreamError: Bool, counted: Bool = false) {
        sidecar.stats.recordForwarded(bypassed: bypassed, cacheable: true, usage: usage, upstreamError: upstreamError, streamed: streamed)
        ledger(upstreamError ? .error : bypassed ? .bypass : .miss, usage, counted: counted)
    }

    /// Waited for an identical request whose upstream call failed.
    func sharedFailure() {
        sidecar.stats.recordForwarded(bypassed: false, cacheable: true, usage: nil, upstreamError: false, streamed: streamed)
        ledger(.error, nil)
    }

    /// A stream is under way: counted now, booked in the ledger when it ends.
    func streamStarted(bypassed: Bool) {
        sidecar.stats.recordForwarded(bypassed: bypassed, cacheable: true, usage: nil, upstreamError: false, streamed: streamed)
    }

    /// The stream's upstream ended; its tokens were added to the counters by the flight.
    func streamEnded(bypassed: Bool, usage: TokenUsage?, failed: Bool, counted: Bool, duration: Duration) {
        let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        ledger(failed ? .error : bypassed ? .bypass : .miss, usage, counted: counted, latencyMs: ms)
    }
}

import CachetteCore
import Foundation

/// The one place requests are booked: the /stats counters, the ledger and the
/// Prometheus metrics, from the same `BookedRequest`, so they never disagree.
struct Accounting: Sendable {
    let stats: StatsCounters
    let ledger: Ledger
    let metrics: CachetteMetrics

    func record(_ request: BookedRequest) {
        stats.record(request.outcome, usage: request.usage, streamed: request.streamed, compressed: request.compression.saved > 0)
        // Every request /stats counts is in the ledger, so its sums, the series and the
        // recent rows add up to /stats's figures. A hit's tokens are what it saved; a
        // stale answer's are counted nowhere (the upstream was not paid, and it is not
        // the fresh answer that was asked for).
        let usage = request.outcome == .stale ? nil : request.usage
        let booked = ledger.record(
            LedgerRecord(
                time: Date().timeIntervalSince1970, route: request.route, model: request.model, outcome: request.outcome,
                promptTokens: usage?.promptTokens ?? 0, completionTokens: usage?.completionTokens ?? 0,
                cachedPromptTokens: usage?.cachedPromptTokens ?? 0, cacheWritePromptTokens: usage?.cacheWritePromptTokens ?? 0,
                cacheWrite1hPromptTokens: usage?.cacheWrite1hPromptTokens ?? 0,
                savedCompressionTokens: request.compression.saved,
                // From the upstream's count, so no request waits to count its whole prompt.
                promptTokensBeforeCompression: request.compression.saved > 0 ? (usage?.promptTokens).map { $0 + request.compression.saved } ?? 0 : 0,
                counted: request.counted, latencyMs: request.latency.seconds * 1000
            ))
        metrics.record(request, booked: booked)
        request.trace?.finish(
            outcome: request.outcome, usage: request.usage, savedTokens: request.compression.saved, savedUSD: booked.saved, streamed: request.streamed
        )
    }

    /// Something that happened besides a request's outcome.
    func note(_ incident: StatsCounters.Incident) {
        stats.record(incident)
        switch incident {
        case .invalidAnswer: metrics.invalidAnswers.increment()
        case .refusedHost: metrics.refusedHost.increment()
        case .refusedOrigin: metrics.refusedOrigin.increment()
        case .finishedAfterDisconnect, .failed, .slowClientDropped: break
        }
    }

    /// Time to the response head, in the route's latency histogram.
    func duration(route: String, _ elapsed: Duration) {
        metrics.duration(route: route, elapsed)
    }
}

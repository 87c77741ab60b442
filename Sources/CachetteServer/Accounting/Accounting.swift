import CachetteCore
import Foundation

/// The one place requests are booked: the /stats counters, the ledger and the
/// Prometheus metrics, from the same `RequestEvent`, so they never disagree.
struct Accounting: Sendable {
    let stats: StatsCounters
    let ledger: Ledger
    let metrics: CachetteMetrics

    func record(_ event: RequestEvent) {
        stats.record(event.outcome, usage: event.usage, streamed: event.streamed, compressed: event.compression.saved > 0)
        // Every request /stats counts is in the ledger, so its sums, the series and the
        // recent rows add up to /stats's figures. A hit's tokens are what it saved; a
        // stale answer's are counted nowhere (the upstream was not paid, and it is not
        // the fresh answer that was asked for).
        let usage = event.outcome == .stale ? nil : event.usage
        let booked = ledger.record(
            LedgerRecord(
                time: Date().timeIntervalSince1970, route: event.route, model: event.model, outcome: event.outcome,
                promptTokens: usage?.promptTokens ?? 0, completionTokens: usage?.completionTokens ?? 0,
                cachedPromptTokens: usage?.cachedPromptTokens ?? 0, cacheWritePromptTokens: usage?.cacheWritePromptTokens ?? 0,
                cacheWrite1hPromptTokens: usage?.cacheWrite1hPromptTokens ?? 0,
                savedCompressionTokens: event.compression.saved,
                // From the upstream's count, so no request waits to count its whole prompt.
                promptTokensBeforeCompression: event.compression.saved > 0 ? (usage?.promptTokens).map { $0 + event.compression.saved } ?? 0 : 0,
                counted: event.counted, latencyMs: event.latency.seconds * 1000
            ))
        metrics.record(event, booked: booked)
        event.trace?.finish(
            outcome: event.outcome, usage: event.usage, savedTokens: event.compression.saved, savedUSD: booked.saved, streamed: event.streamed)
    }

    /// Something that happened besides a request's outcome.
    func note(_ event: StatsCounters.Event) {
        stats.record(event)
        switch event {
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

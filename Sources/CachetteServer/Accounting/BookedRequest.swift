import CachetteCore

/// One request as it is booked, once, when its outcome is known.
struct BookedRequest: Sendable {
    /// The cached path, or `Passthrough.route` for everything forwarded uncached.
    var route: String
    /// Empty when the request named none (or was refused before it was read): booked as `Ledger.noModel`.
    var model: String
    var outcome: RequestOutcome
    var streamed = false
    /// A hit's: the stored answer's tokens, not paid again. A forwarded request's: what
    /// the upstream reported (or what was counted here, `counted`).
    var usage: TokenUsage?
    var counted = false
    var compression = CompressionTally()
    /// From arrival to the end of the answer for streams, to the response head otherwise.
    var latency: Duration = .zero
    /// Its spans, ended when it is booked (telemetry on, cached routes only).
    var trace: RequestTrace?
}

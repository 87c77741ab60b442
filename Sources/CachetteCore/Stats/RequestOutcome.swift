/// How a request ended: one word for `X-Cache`, /stats, /metrics' `outcome` label and
/// the ledger, so they always agree.
package enum RequestOutcome: String, Sendable, CaseIterable {
    /// Served from the cache, or from an identical request's answer: nothing paid again.
    case hit
    /// The upstream failed, and an answer past its TTL was served (stale-if-error).
    case stale
    /// Not in the cache: the upstream answered (2xx), and the answer may be stored.
    case miss
    /// Forwarded past the cache (`no-cache`, no cache, passthrough paths) and answered (2xx).
    case bypass
    /// Refused before reaching an upstream: bad input, no upstream for the model, or
    /// (offline) nothing cached for it.
    case rejected
    /// Sent upstream (or joined a request that was) and not answered with a 2xx: an
    /// error status, a timeout, a stream that broke.
    case error
    /// Answered here, with no upstream call and nothing looked up: `POST /v1/compress`
    /// (LiteLLM's guardrail), whose saved tokens are booked as compression's.
    case local

    /// Its `X-Cache` value: every answer says how it ended, as /stats books it.
    package var xCache: String {
        switch self {
        case .hit: "HIT"
        case .stale: "STALE"
        case .miss: "MISS"
        case .bypass: "BYPASS"
        case .rejected: "REJECTED"
        case .error: "ERROR"
        case .local: "LOCAL"
        }
    }

    /// The upstream was paid for this request (or would have been, had it answered).
    package var wentUpstream: Bool { self == .miss || self == .bypass || self == .error }
}

import Foundation
import Synchronization

/// A point-in-time copy of the request counters.
public struct StatsSnapshot: Sendable, Equatable {
    public var requests = 0
    public var hits = 0
    public var misses = 0
    public var bypassed = 0
    public var upstreamErrors = 0
    public var compressedRequests = 0
    /// Upstream-reported usage of forwarded requests.
    public var inputTokens = 0
    public var outputTokens = 0
    /// Prompt + completion tokens of answers served from cache: tokens not paid for again.
    public var cachedTokens = 0
    /// Unix time the counters started.
    public var since: Double = 0

    public var hitRatio: Double {
        hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses)
    }
}

/// Request counters, updated lock-free-ish from every request and persisted by the server.
public final class StatsCounters: Sendable {
    private let state: Mutex<StatsSnapshot>

    public init(restoring saved: [String: Int] = [:], now: Double = Date().timeIntervalSince1970) {
        var s = StatsSnapshot()
        for (name, keyPath) in Self.fields {
            s[keyPath: keyPath] = saved[name] ?? 0
        }
        s.since = saved["since"].map(Double.init) ?? now
        state = Mutex(s)
    }

    static let fields: [(String, WritableKeyPath<StatsSnapshot, Int> & Sendable)] = [
        ("requests", \.requests), ("hits", \.hits), ("misses", \.misses), ("bypassed", \.bypassed),
        ("upstream_errors", \.upstreamErrors), ("compressed_requests", \.compressedRequests),
        ("input_tokens", \.inputTokens), ("output_tokens", \.outputTokens), ("cached_tokens", \.cachedTokens),
    ]

    public var snapshot: StatsSnapshot { state.withLock { $0 } }

    /// The counters as rows for the `counters` table.
    public var persistable: [(String, Int)] {
        let s = snapshot
        return Self.fields.map { ($0.0, s[keyPath: $0.1]) } + [("since", Int(s.since))]
    }

    public func recordHit(usage: TokenUsage) {
        state.withLock { s in
            s.requests += 1
            s.hits += 1
            s.cachedTokens += usage.total
        }
    }

    /// A forwarded request. `cacheable` requests that were not bypassed count as misses.
    public func recordForwarded(bypassed: Bool, cacheable: Bool, usage: TokenUsage?, upstreamError: Bool) {
        state.withLock { s in
            s.requests += 1
            if bypassed { s.bypassed += 1 } else if cacheable { s.misses += 1 }
            if upstreamError { s.upstreamErrors += 1 }
            if let usage {
                s.inputTokens += usage.promptTokens
                s.outputTokens += usage.completionTokens
            }
        }
    }

    public func recordRejected() {
        state.withLock { $0.requests += 1 }
    }
}

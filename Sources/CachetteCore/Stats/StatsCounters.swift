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
    /// `stream: true` requests (also counted as hits, misses or bypassed).
    public var streamedRequests = 0
    /// Streams read to the end and stored after every client reading them had gone.
    public var streamsFinishedAfterDisconnect = 0
    /// Streams whose upstream failed mid-way (cut, error event, no `[DONE]`); also upstream errors.
    public var streamFailures = 0
    /// Clients cut off for reading nothing while `stream.max_buffered_bytes` behind.
    public var slowClientsDropped = 0
    /// 2xx answers relayed but not stored: not the endpoint's shape, not JSON, not UTF-8,
    /// encoded, or with bad usage counts.
    public var invalidAnswers = 0
    /// Requests refused because their Host or Origin header was not allowed (a web page).
    public var refusedHosts = 0
    public var refusedOrigins = 0
    /// Failed misses answered with an entry past its TTL (stale-if-error).
    public var staleServed = 0
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
        ("streamed_requests", \.streamedRequests), ("streams_finished_after_disconnect", \.streamsFinishedAfterDisconnect),
        ("stream_failures", \.streamFailures), ("slow_clients_dropped", \.slowClientsDropped),
        ("invalid_answers", \.invalidAnswers), ("refused_hosts", \.refusedHosts), ("refused_origins", \.refusedOrigins),
        ("stale_served", \.staleServed),
    ]

    public var snapshot: StatsSnapshot { state.withLock { $0 } }

    /// The counters as rows for the `counters` table.
    public var persistable: [(String, Int)] {
        let s = snapshot
        return Self.fields.map { ($0.0, s[keyPath: $0.1]) } + [("since", Int(s.since))]
    }

    public func recordHit(usage: TokenUsage, streamed: Bool = false) {
        state.withLock { s in
            s.requests += 1
            s.hits += 1
            s.cachedTokens += usage.total
            if streamed { s.streamedRequests += 1 }
        }
    }

    /// A forwarded request. `cacheable` requests that were not bypassed count as misses.
    public func recordForwarded(bypassed: Bool, cacheable: Bool, usage: TokenUsage?, upstreamError: Bool, streamed: Bool = false) {
        state.withLock { s in
            s.requests += 1
            if streamed { s.streamedRequests += 1 }
            if bypassed { s.bypassed += 1 } else if cacheable { s.misses += 1 }
            if upstreamError { s.upstreamErrors += 1 }
            if let usage {
                s.inputTokens += usage.promptTokens
                s.outputTokens += usage.completionTokens
            }
        }
    }

    /// Tokens an upstream stream reported, counted once however many clients read it.
    public func recordUpstreamUsage(_ usage: TokenUsage) {
        state.withLock { s in
            s.inputTokens += usage.promptTokens
            s.outputTokens += usage.completionTokens
        }
    }

    /// Counted events besides requests: streams' fates, refusals, stale answers.
    public enum Event: Sendable {
        case finishedAfterDisconnect
        case failed
        case slowClientDropped
        case invalidAnswer
        case refusedHost
        case refusedOrigin
        case staleServed
    }

    public func record(_ event: Event) {
        state.withLock { s in
            switch event {
            case .finishedAfterDisconnect: s.streamsFinishedAfterDisconnect += 1
            case .failed:
                s.streamFailures += 1
                s.upstreamErrors += 1
            case .slowClientDropped: s.slowClientsDropped += 1
            case .invalidAnswer: s.invalidAnswers += 1
            case .refusedHost: s.refusedHosts += 1
            case .refusedOrigin: s.refusedOrigins += 1
            case .staleServed: s.staleServed += 1
            }
        }
    }

    /// A forwarded request whose prompt the compressor made smaller.
    public func recordCompressed() {
        state.withLock { $0.compressedRequests += 1 }
    }

    public func recordRejected() {
        state.withLock { $0.requests += 1 }
    }
}

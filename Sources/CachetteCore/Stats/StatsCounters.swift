import Foundation
import Synchronization

/// A point-in-time copy of the request counters.
package struct StatsSnapshot: Sendable, Equatable {
    public var requests = 0
    package var hits = 0
    package var misses = 0
    package var bypassed = 0
    /// Requests refused before reaching an upstream (bad input, no upstream, an offline miss).
    package var rejected = 0
    /// Requests the upstream did not answer with a 2xx (`RequestOutcome.error`).
    package var upstreamErrors = 0
    package var compressedRequests = 0
    /// Upstream-reported usage of forwarded requests.
    package var inputTokens = 0
    package var outputTokens = 0
    /// Prompt + completion tokens of answers served from cache: tokens not paid for again.
    package var cachedTokens = 0
    /// `stream: true` requests (also counted under their outcome).
    package var streamedRequests = 0
    /// Streams read to the end and stored after every client reading them had gone.
    package var streamsFinishedAfterDisconnect = 0
    /// Streams whose upstream failed mid-way (cut, error event, no `[DONE]`); their requests are errors.
    package var streamFailures = 0
    /// Clients cut off for reading nothing while `stream.max_buffered_bytes` behind.
    package var slowClientsDropped = 0
    /// 2xx answers relayed but not stored: not the endpoint's shape, not JSON, not UTF-8,
    /// encoded, or with bad usage counts.
    package var invalidAnswers = 0
    /// Requests refused because their Host or Origin header was not allowed (a web page).
    package var refusedHosts = 0
    package var refusedOrigins = 0
    /// Failed misses answered with an entry past its TTL (stale-if-error).
    package var staleServed = 0
    /// Requests answered here with no upstream call (`RequestOutcome.local`: `/v1/compress`).
    package var answeredLocally = 0
    /// Unix time the counters started.
    package var since: Double = 0

    /// `HitRatio`'s definition, as every surface shows it.
    package var hitRatio: Double { HitRatio.of(hits: hits, misses: misses) }
}

/// Request counters, updated lock-free-ish from every request and persisted by the server.
package final class StatsCounters: Sendable {
    private let state: Mutex<StatsSnapshot>

    package init(restoring saved: [String: Int] = [:], now: Double = Date().timeIntervalSince1970) {
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
        ("stale_served", \.staleServed), ("rejected", \.rejected), ("answered_locally", \.answeredLocally),
    ]

    package var snapshot: StatsSnapshot { state.withLock { $0 } }

    /// The counters as rows for the `counters` table.
    package var persistable: [(String, Int)] {
        let s = snapshot
        return Self.fields.map { ($0.0, s[keyPath: $0.1]) } + [("since", Int(s.since))]
    }

    /// One request, by how it ended. `usage` is what a hit served (tokens not paid
    /// again) or what a forwarded request paid for.
    package func record(_ outcome: RequestOutcome, usage: TokenUsage?, streamed: Bool, compressed: Bool = false) {
        state.withLock { s in
            s.requests += 1
            if streamed { s.streamedRequests += 1 }
            if compressed { s.compressedRequests += 1 }
            switch outcome {
            case .hit: s.hits += 1
            case .stale: s.staleServed += 1
            case .miss: s.misses += 1
            case .bypass: s.bypassed += 1
            case .rejected: s.rejected += 1
            case .error: s.upstreamErrors += 1
            case .local: s.answeredLocally += 1
            }
            guard let usage else { return }
            if outcome == .hit {
                s.cachedTokens += usage.total
            } else if outcome.wentUpstream {
                s.inputTokens += usage.promptTokens
                s.outputTokens += usage.completionTokens
            }
        }
    }

    /// What is counted besides requests: streams' fates, refusals, answers not stored.
    /// ("Event" means an SSE event; a booked request is a `BookedRequest`.)
    public enum Incident: Sendable {
        case finishedAfterDisconnect
        /// An upstream stream broke (its request is booked as an `error` when it ends).
        case failed
        case slowClientDropped
        case invalidAnswer
        case refusedHost
        case refusedOrigin
    }

    package func record(_ incident: Incident) {
        state.withLock { s in
            switch incident {
            case .finishedAfterDisconnect: s.streamsFinishedAfterDisconnect += 1
            case .failed: s.streamFailures += 1
            case .slowClientDropped: s.slowClientsDropped += 1
            case .invalidAnswer: s.invalidAnswers += 1
            case .refusedHost: s.refusedHosts += 1
            case .refusedOrigin: s.refusedOrigins += 1
            }
        }
    }
}

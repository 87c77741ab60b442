import CachetteCore
import Foundation
import Hummingbird

/// `GET /stats`: TokenPak's documented fields (`cached`, `compressed_requests`,
/// `token_usage`) at the top level, and Cachette's own beside them.
struct StatsEndpoint: Sendable {
    let sidecar: Sidecar

    func respond(to request: Request, context: some RequestContext) -> Response {
        JSONResponse.make(Self.document(stats: sidecar.stats.snapshot, totals: sidecar.store?.totals ?? StoreTotals()))
    }

    static func document(stats s: StatsSnapshot, totals: StoreTotals) -> JSONValue {
        let since = Date(timeIntervalSince1970: s.since).formatted(.iso8601)
        return .object([
            "cached": .int(s.hits),
            "compressed_requests": .int(s.compressedRequests),
            "token_usage": .object([
                "input": .int(s.inputTokens),
                "output": .int(s.outputTokens),
                "cached": .int(s.cachedTokens),
            ]),
            "requests": .int(s.requests),
            "hits": .int(s.hits),
            "misses": .int(s.misses),
            "bypassed": .int(s.bypassed),
            "hit_ratio": .double((s.hitRatio * 10000).rounded() / 10000),
            "upstream_errors": .int(s.upstreamErrors),
            "streams": .object([
                "requests": .int(s.streamedRequests),
                "failures": .int(s.streamFailures),
                "finished_after_disconnect": .int(s.streamsFinishedAfterDisconnect),
                "slow_clients_dropped": .int(s.slowClientsDropped),
            ]),
            "cache": .object([
                "entries": .int(totals.entries),
                "bytes": .int(totals.bytes),
                "evictions": .int(totals.evictions),
                "expirations": .int(totals.expirations),
            ]),
            "since": .string(since),
        ])
    }
}

import CachetteCore
import CachetteShared
import Foundation
import Hummingbird

/// `GET /stats[?window=1h|24h|7d|all]`: TokenPak's documented fields (`cached`,
/// `compressed_requests`, `token_usage`) at the top level, Cachette's own beside them
/// (all since `since`), and the ledger's dollars and per-model figures for the window.
struct StatsEndpoint: Sendable {
    let stats: StatsCounters
    let ledger: Ledger
    let store: CacheStore?
    let shared: PostgresTier?
    /// Nil unless `shared.ledger` is on.
    let clusterLedger: ClusterLedger?
    let steering: PromptCacheSteering

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/stats") { request, context in try await respond(to: request, context: context) }
    }

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let name = request.uri.queryParameters["window"].map(String.init) ?? "all"
        guard let window = LedgerWindow(rawValue: name) else {
            throw APIError(
                status: .badRequest,
                message: "window must be one of \(LedgerWindow.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(name)\".",
                code: "invalid_window", param: "window"
            )
        }
        switch request.uri.queryParameters["scope"].map(String.init) ?? "replica" {
        case "replica": break
        case "cluster": return try await cluster(window)
        case let other:
            throw APIError(
                status: .badRequest, message: "scope must be replica or cluster, got \"\(other)\".", code: "invalid_scope", param: "scope")
        }
        let models = try await ledger.totals(window)
        let oldest = try await store?.oldestEntry()
        var document = Self.document(
            stats: stats.snapshot, totals: store?.totals ?? StoreTotals(), maxBytes: store?.options.maxBytes ?? 0, oldest: oldest)
        for (key, value) in Self.ledgerDocument(window: window, models: models) { document.set(key, value) }
        if let shared { document.set("shared", Self.sharedDocument(shared.status)) }
        document.set("prompt_cache", Self.steeringDocument(steering.counters))
        return JSONResponse.make(document)
    }

    /// What Anthropic breakpoint steering did since the process started.
    static func steeringDocument(_ c: PromptCacheSteering.Counters) -> JSONValue {
        .object([
            "breakpoints_added": .int(c.breakpointsAdded),
            "skipped_would_not_pay": .int(c.markersSkipped),
            "skipped_too_short": .int(c.markersTooShort),
            "client_marked": .int(c.clientMarked),
            "prefixes_remembered": .int(c.prefixesRemembered),
        ])
    }

    /// Every replica's requests from the shared tier's ledger (`shared.ledger`).
    private func cluster(_ window: LedgerWindow) async throws -> Response {
        guard let clusterLedger else {
            throw APIError(
                status: .badRequest, message: "scope=cluster needs the shared tier with shared.ledger: true.", code: "no_cluster_ledger",
                param: "scope")
        }
        let (models, replicas): ([String: ModelTotals], Int)
        do {
            (models, replicas) = try await clusterLedger.totals(window)
        } catch {
            throw APIError(
                status: .serviceUnavailable, message: "The shared tier cannot be read now; try again, or ask without scope=cluster.",
                type: "server_error", code: "shared_unavailable")
        }
        let total = models.values.total()
        var document: JSONValue = .object([
            "scope": .string("cluster"),
            "replicas": .int(replicas),
            "requests": .int(total.requests),
            "hits": .int(total.hits),
            "misses": .int(total.misses),
            "hit_ratio": .double(total.hitRatio),
            "token_usage": .object([
                "input": .int(total.inputTokens),
                "output": .int(total.outputTokens),
                "cached": .int(max(0, total.savedTokens - total.savedCompressionTokens)),
            ]),
        ])
        for (key, value) in Self.ledgerDocument(window: window, models: models) { document.set(key, value) }
        return JSONResponse.make(document)
    }

    static func ledgerDocument(window: LedgerWindow, models: [String: ModelTotals]) -> [(String, JSONValue)] {
        // Rounded only to hide floating-point noise: a single cached answer can be worth a few micro-dollars.
        func dollars(_ value: Double) -> JSONValue { .double((value * 1e10).rounded() / 1e10) }
        let total = models.values.total()
        let (spent, saved, savedByCompression) = (total.spentUSD, total.savedUSD, total.savedCompressionUSD)
        let perModel = models.sorted { $0.key < $1.key }.map { name, t -> JSONValue.Member in
            return JSONValue.Member(
                name,
                .object([
                    "requests": .int(t.requests),
                    "hits": .int(t.hits),
                    "misses": .int(t.misses),
                    "hit_ratio": .double(t.hitRatio),
                    "input_tokens": .int(t.inputTokens),
                    "output_tokens": .int(t.outputTokens),
                    "cached_input_tokens": .int(t.cachedInputTokens),
                    "cache_write_input_tokens": .int(t.cacheWriteInputTokens),
                    "saved_tokens": .int(t.savedTokens),
                    "saved_cache_tokens": .int(t.savedTokens - t.savedCompressionTokens),
                    "saved_compression_tokens": .int(t.savedCompressionTokens),
                    "spent_usd": dollars(t.spentUSD),
                    "saved_usd": dollars(t.savedUSD),
                    "saved_cache_usd": dollars(t.savedUSD - t.savedCompressionUSD),
                    "saved_compression_usd": dollars(t.savedCompressionUSD),
                    "saved_provider_cache_usd": dollars(t.savedProviderCacheUSD),
                ]))
        }
        return [
            ("window", .string(window.rawValue)),
            (
                "cost",
                .object([
                    "spent_usd": dollars(spent), "saved_usd": dollars(saved),
                    "saved_cache_usd": dollars(saved - savedByCompression), "saved_compression_usd": dollars(savedByCompression),
                    "saved_provider_cache_usd": dollars(total.savedProviderCacheUSD),
                    "provider_cache_read_savings_usd": dollars(total.providerCacheReadSavingsUSD),
                    "provider_cache_write_premium_usd": dollars(total.providerCacheWritePremiumUSD),
                ])
            ),
            ("models", .object(perModel)),
        ]
    }

    /// This replica's view of the shared tier: its state and counts (no database read).
    static func sharedDocument(_ status: SharedStatus) -> JSONValue {
        let c = status.counts
        return .object([
            "state": .string(status.state.rawValue),
            "hits": .int(c.hits),
            "misses": .int(c.misses),
            "errors": .int(c.errors),
            "timeouts": .int(c.timeouts),
            "flight_waits": .int(c.flightWaits),
            "flight_timeouts": .int(c.flightTimeouts),
            "writes": .int(c.writes),
            "dropped_writes": .int(c.droppedWrites),
            "pruned": .int(c.pruned),
            "prune_runs": .int(c.pruneRuns),
        ])
    }

    static func document(stats s: StatsSnapshot, totals: StoreTotals, maxBytes: Int, oldest: Double?) -> JSONValue {
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
            "stale": .int(s.staleServed),
            "bypassed": .int(s.bypassed),
            "rejected": .int(s.rejected),
            "answered_locally": .int(s.answeredLocally),
            "hit_ratio": .double(s.hitRatio),
            "upstream_errors": .int(s.upstreamErrors),
            "streams": .object([
                "requests": .int(s.streamedRequests),
                "failures": .int(s.streamFailures),
                "finished_after_disconnect": .int(s.streamsFinishedAfterDisconnect),
                "slow_clients_dropped": .int(s.slowClientsDropped),
            ]),
            "refused": .object([
                "invalid_answers": .int(s.invalidAnswers),
                "usage_clamped": .int(TokenUsage.clamps),
                "hosts": .int(s.refusedHosts),
                "origins": .int(s.refusedOrigins),
            ]),
            "cache": .object([
                "entries": .int(totals.entries),
                "bytes": .int(totals.bytes),
                "evictions": .int(totals.evictions),
                "dropped_writes": .int(totals.droppedWrites),
                "expirations": .int(totals.expirations),
                "max_bytes": .int(maxBytes),
                "oldest_entry": oldest.flatMap { $0.isFinite ? .string(Date(timeIntervalSince1970: $0).formatted(.iso8601)) : nil } ?? .null,
            ]),
            "since": .string(since),
        ])
    }
}

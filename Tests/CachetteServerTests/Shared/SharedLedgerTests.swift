import CachetteCore
import Foundation
import Testing
@testable import CachetteShared

/// The cluster ledger's rows: summed per second before they leave the replica.
@Suite("Shared tier ledger")
struct SharedLedgerTests {
    @Test("a busy second goes to PostgreSQL as one row per route, model and outcome; rows booked one by one still count; retention prunes both")
    func bucketsPerSecond() async throws {
        try await SharedPruningTests.withTier(configure: { $0.ledgerRetention = .seconds(3600) }) { tier, database in
            let ledger = ClusterLedger(tier: tier)
            let cluster = try await PostgresCluster.shared
            let second = (Date().timeIntervalSince1970 - 60).rounded(.down)
            func book(_ count: Int, model: String, outcome: RequestOutcome) {
                for i in 0..<count {
                    let record = LedgerRecord(
                        time: second + Double(i) / Double(count + 1), route: "/v1/chat/completions", model: model, outcome: outcome,
                        promptTokens: 10, completionTokens: 5, cachedPromptTokens: outcome == .hit ? 0 : 4,
                        cacheWritePromptTokens: outcome == .hit ? 0 : 6)
                    ledger.book(
                        record,
                        Ledger.Booking(
                            model: model, spent: outcome == .hit ? 0 : 0.25, saved: outcome == .hit ? 0.25 : 0, savedByCompression: 0,
                            providerReadSavings: outcome == .hit ? 0 : 0.01, providerWritePremium: outcome == .hit ? 0 : 0.004))
                }
            }
            book(300, model: "gpt-4o", outcome: .hit)
            book(200, model: "gpt-4o-mini", outcome: .miss)
            // A batch that failed on a loaded machine goes again with the next: wait for the state.
            func rows() async throws -> String {
                await tier.flush()
                return try await cluster.sql("SELECT count(*), sum(requests) FROM cachette_ledger_buckets", database: database)
            }
            try await eventually(within: .seconds(30)) { try await rows() == "2|500" }
            // The same second again, in a later batch: added to its rows.
            book(100, model: "gpt-4o", outcome: .hit)
            try await eventually(within: .seconds(30)) { try await rows() == "2|600" }
            // A replica from before the buckets booked a row per request.
            _ = try await cluster.sql(
                """
                INSERT INTO cachette_ledger (replica, time, route, model, outcome, prompt_tokens, completion_tokens, cached_prompt_tokens,
                    saved_compression_tokens, spent_usd, saved_usd, saved_compression_usd)
                VALUES ('older-replica', \(second), '/v1/chat/completions', 'gpt-4o-mini', 'miss', 7, 3, 0, 0, 0.5, 0, 0)
                """, database: database)

            let (models, replicas) = try await ledger.totals(.hour)
            #expect(replicas == 2)
            let big = try #require(models["gpt-4o"])
            #expect(big.requests == 400 && big.hits == 400)
            #expect(big.savedTokens == 400 * 15 && abs(big.savedUSD - 100) < 1e-9)
            let mini = try #require(models["gpt-4o-mini"])
            #expect(mini.requests == 201 && mini.hits == 0 && mini.misses == 201)
            #expect(big.misses == 0 && big.hitRatio == 1 && mini.hitRatio == 0)
            #expect(mini.inputTokens == 200 * 10 + 7 && mini.outputTokens == 200 * 5 + 3)
            #expect(abs(mini.spentUSD - (200 * 0.25 + 0.5)) < 1e-9)
            // The provider's cache: the buckets' writes and dollars; the older replica's row booked none.
            #expect(mini.cacheWriteInputTokens == 200 * 6 && mini.cachedInputTokens == 200 * 4)
            #expect(abs(mini.providerCacheReadSavingsUSD - 2) < 1e-9 && abs(mini.savedProviderCacheUSD - 1.2) < 1e-9)
            #expect(big.cacheWriteInputTokens == 0 && big.savedProviderCacheUSD == 0)

            // Two hours on, both tables' rows are past the hour's retention.
            #expect(try await tier.prune(now: second + 7200) != nil)
            let left = "SELECT (SELECT count(*) FROM cachette_ledger_buckets) + (SELECT count(*) FROM cachette_ledger)"
            #expect(try await cluster.sql(left, database: database) == "0")
        }
    }
}

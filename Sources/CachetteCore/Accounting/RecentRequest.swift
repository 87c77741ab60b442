import Foundation
import GRDB

/// One of the last requests, for `/stats/recent`: what the ledger holds, which is no
/// prompt, no answer and nothing of the credential.
package struct RecentRequest: Sendable, Equatable {
    public var time: Double
    public var route: String
    public var model: String
    package var outcome: String
    package var latencyMs: Double
    package var promptTokens: Int
    package var completionTokens: Int
    package var spentUSD: Double
    package var savedUSD: Double

    /// The most `/stats/recent` returns.
    package static let maxLimit = 500
}

extension Ledger {
    /// The last `limit` requests, newest first. Empty without a ledger file.
    package func recent(limit: Int) async throws -> [RecentRequest] {
        guard let pool else { return [] }
        try await flush()
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT time, route, model, outcome, latency_ms, prompt_tokens, completion_tokens, spent_usd, saved_usd
                    FROM ledger ORDER BY time DESC LIMIT ?
                    """, arguments: [min(max(0, limit), RecentRequest.maxLimit)]
            ).map { row in
                RecentRequest(
                    time: row["time"] ?? 0, route: row["route"] ?? "", model: row["model"] ?? "", outcome: row["outcome"] ?? "",
                    latencyMs: row["latency_ms"] ?? 0, promptTokens: row["prompt_tokens"] ?? 0, completionTokens: row["completion_tokens"] ?? 0,
                    spentUSD: row["spent_usd"] ?? 0, savedUSD: row["saved_usd"] ?? 0)
            }
        }
    }
}

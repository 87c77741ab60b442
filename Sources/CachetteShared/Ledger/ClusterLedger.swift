import CachetteCore
import Foundation
import PostgresNIO
import Synchronization

/// The cluster ledger (`shared.ledger`): every replica's booked requests, summed per
/// second, route, model and outcome before they leave the replica. A replica serving
/// 10,000 requests a second writes a few rows a second, not 10,000; a window's edge is
/// exact to the second. It rides on the shared tier: its buckets go out with the
/// tier's batches, over the tier's pool, and wait with them while PostgreSQL is away.
package final class ClusterLedger: LedgerSink {
    let tier: PostgresTier
    /// Buckets not yet written.
    let pending = Mutex<[Bucket: Sums]>([:])

    package init(tier: PostgresTier) {
        self.tier = tier
        tier.alsoWriting { [weak self] in await self?.writePending() }
    }

    struct Bucket: Hashable {
        /// Whole Unix seconds.
        var second: Int64
        var route: String
        var model: String
        var outcome: String
    }

    struct Sums {
        var requests = 0
        var promptTokens = 0
        var completionTokens = 0
        var cachedPromptTokens = 0
        var savedCompressionTokens = 0
        var spent = 0.0
        var saved = 0.0
        var savedByCompression = 0.0
        var cacheWriteTokens = 0
        var providerReadSavings = 0.0
        var providerWritePremium = 0.0

        mutating func add(_ other: Sums) {
            requests = requests.addingSaturated(other.requests)
            promptTokens = promptTokens.addingSaturated(other.promptTokens)
            completionTokens = completionTokens.addingSaturated(other.completionTokens)
            cachedPromptTokens = cachedPromptTokens.addingSaturated(other.cachedPromptTokens)
            savedCompressionTokens = savedCompressionTokens.addingSaturated(other.savedCompressionTokens)
            spent += other.spent
            saved += other.saved
            savedByCompression += other.savedByCompression
            cacheWriteTokens = cacheWriteTokens.addingSaturated(other.cacheWriteTokens)
            providerReadSavings += other.providerReadSavings
            providerWritePremium += other.providerWritePremium
        }
    }

    /// Buckets kept while PostgreSQL is away; the oldest half goes when full.
    static let maxQueuedBuckets = 100_000
    /// Buckets per INSERT: 16 binds each stays far below PostgreSQL's 65,535.
    static let bucketsPerInsert = 1000

    package func book(_ record: LedgerRecord, _ booking: Ledger.Booking) {
        guard record.time >= 0, record.time < 1e15 else { return }
        let bucket = Bucket(
            second: Int64(record.time.rounded(.down)), route: record.route, model: record.model, outcome: record.outcome.rawValue)
        let sums = Sums(
            requests: 1, promptTokens: record.promptTokens, completionTokens: record.completionTokens,
            cachedPromptTokens: record.cachedPromptTokens, savedCompressionTokens: record.savedCompressionTokens, spent: booking.spent,
            saved: booking.saved, savedByCompression: booking.savedByCompression,
            cacheWriteTokens: record.outcome == .hit ? 0 : record.cacheWritePromptTokens, providerReadSavings: booking.providerReadSavings,
            providerWritePremium: booking.providerWritePremium)
        pending.withLock { Self.add(bucket, sums, to: &$0) }
        // Buckets ride along with the tier's next batch of entries, or its writer's periodic wake-up.
    }

    /// Adds one bucket's sums to what is pending for it.
    static func add(_ bucket: Bucket, _ sums: Sums, to pending: inout [Bucket: Sums]) {
        pending[bucket, default: Sums()].add(sums)
        if pending.count > maxQueuedBuckets {
            // PostgreSQL has been away a long time: the oldest seconds go first.
            let oldest = pending.keys.sorted { $0.second < $1.second }.prefix(pending.count / 2)
            for bucket in oldest { pending.removeValue(forKey: bucket) }
        }
    }
}

/// One place cache entries live on this machine. `CacheStore` walks its tiers fastest
/// first in one lookup and writes an answer to each. A tier returns what it holds,
/// expired or not: whether an entry may be served is the store's question.
package protocol CacheTier: Sendable {
    /// What the tier holds for `key`, and where (`x-cachette-tier`). Synchronous: local
    /// tiers answer on the hit path. With `memoryOnly`, nothing is read from a file.
    func entry(_ key: CacheKey, memoryOnly: Bool) -> (CachedResponse, StoreTier)?
    /// Keeps `entry`; a tier may queue the write.
    func store(_ key: CacheKey, _ entry: NewEntry)
    /// A fresh entry a slower tier held: kept here too, so the next lookup stops here.
    func promote(_ key: CacheKey, _ response: CachedResponse)
    /// A hit on `key` in any tier, for LRU order and hit counts.
    func recordAccess(_ key: CacheKey, now: Double)
    /// `key`'s entry here is past its TTL (and the lookup goes on to the next tier).
    func expired(_ key: CacheKey)
    func remove(_ key: CacheKey)
}

/// A tier over a network, shared by several sidecars. `CacheStore` asks it only after
/// the local tiers missed, inside the key's single flight, and fills the local tiers
/// from what it returns. Its calls never fail and never wait long: a tier that is
/// down or slow is a miss. Writes are queued.
public protocol SharedCacheTier: Sendable {
    /// The fresh entry for `key`, or nil. With `lead`, nil may also mean this replica
    /// now leads the key's flight across replicas: `release` ends that lead, or `store`
    /// does. Without it (offline), nothing is claimed and nothing waited for.
    func fetch(_ key: CacheKey, now: Double, lead: Bool) async -> NewEntry?
    /// Queues `entry` for the shared tier, and ends this replica's lead of its flight.
    func store(_ key: CacheKey, _ entry: NewEntry)
    /// Ends this replica's lead of `key`'s flight, after any `store` of it: the replicas
    /// waiting for it look again.
    func release(_ key: CacheKey)
    /// A local hit on `key`, for the shared tier's LRU order; written in batches.
    func recordAccess(_ key: CacheKey, now: Double)
}

/// Where a hit came from, for `x-cachette-tier`.
public enum StoreTier: String, Sendable {
    /// The memory tier, or an answer stored moments ago and not yet written.
    case memory
    /// The SQLite file.
    case disk
    /// The shared tier, another replica's answer.
    case shared
}

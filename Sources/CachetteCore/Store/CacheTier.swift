/// One place cache entries live. `CacheStore` reads its tiers fastest first and writes
/// an answer to each. A tier returns what it holds, expired or not: whether an entry
/// may be served is the store's question, not the tier's.
public protocol CacheTier: Sendable {
    /// What the tier holds for `key`. Synchronous: local tiers answer on the hit path.
    func entry(_ key: CacheKey) -> CachedResponse?
    /// Keeps `entry`; a tier may queue the write.
    func store(_ key: CacheKey, _ entry: NewEntry)
    func remove(_ key: CacheKey)
}

/// A tier over a network, shared by several sidecars: every call may wait, and fail.
/// `CacheStore` asks it only after the local tiers missed, inside the key's single
/// flight, and fills the local tiers from what it returns.
public protocol AsyncCacheTier: Sendable {
    func entry(_ key: CacheKey) async throws -> NewEntry?
    func store(_ key: CacheKey, _ entry: NewEntry) async throws
    func remove(_ key: CacheKey) async throws
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

import CachetteCore

extension PostgresTier {
    /// What waits for the next batch. Counts are the batches already tried: a batch
    /// that fails is tried again once PostgreSQL is back, twice at most.
    struct WriteQueue {
        var puts: [(key: CacheKey, entry: NewEntry, attempts: Int)] = []
        /// Flights this replica led whose answer is in `puts`.
        var stored: [CacheKey: Int] = [:]
        /// Flights this replica led and gave up: nothing was stored.
        var abandoned: [CacheKey: Int] = [:]
        var removals: Set<CacheKey> = []
        var accesses: [CacheKey: Double] = [:]
        var bytes = 0

    }
}

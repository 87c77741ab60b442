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
        var ledger: [ClusterLedger.Bucket: ClusterLedger.Sums] = [:]
        var bytes = 0

        mutating func addLedger(_ buckets: [ClusterLedger.Bucket: ClusterLedger.Sums]) {
            for (bucket, sums) in buckets { addLedger(bucket, sums) }
        }

        /// Adds one bucket's sums to what is queued for it.
        mutating func addLedger(_ bucket: ClusterLedger.Bucket, _ sums: ClusterLedger.Sums) {
            ledger[bucket, default: ClusterLedger.Sums()].add(sums)
            if ledger.count > ClusterLedger.maxQueuedBuckets {
                // PostgreSQL has been away a long time: the oldest seconds go first.
                let oldest = ledger.keys.sorted { $0.second < $1.second }.prefix(ledger.count / 2)
                for bucket in oldest { ledger.removeValue(forKey: bucket) }
            }
        }
    }
}

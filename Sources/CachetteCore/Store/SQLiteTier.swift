import Foundation
import GRDB
import Logging
import NIOCore
import Synchronization

/// The cache's SQLite tier: entries zstd-compressed in the sidecar's database file.
///
/// Reads are synchronous and never wait on the writer: entries not yet written, then
/// one indexed read. Writes, removals and access times are queued and applied by
/// `flush` in one transaction, which also enforces TTL and the byte budget.
final class SQLiteTier: CacheTier {
    let options: CacheStoreOptions
    let database: CachetteDatabase
    let pool: DatabasePool
    let queue = Mutex(WriteQueue())
    let totalsState: Mutex<StoreTotals>
    /// Serialises flushes so two never interleave their eviction passes.
    let flushGate = AsyncGate()
    let logger: Logger
    private let wake: AsyncStream<Void>.Continuation
    /// A value each time something is queued, for the writer.
    let wakeups: AsyncStream<Void>
    /// The writer connection's `PRAGMA data_version`: it moves only when another connection commits.
    let lastDataVersion: Mutex<Int>
    /// Used only inside flushes, which the gate serialises.
    let compressor: ZstdCompressor
    private let decompressors = ZstdDecompressors()
    /// Lets a miss skip the read; loaded by `loadKeys` (the server's writer), else every read happens.
    let storedKeys = StoredKeys()

    struct WriteQueue {
        var puts: [CacheKey: (generation: UInt64, entry: NewEntry)] = [:]
        var removals: Set<CacheKey> = []
        var accesses: [CacheKey: (time: Double, hits: Int)] = [:]
        var generation: UInt64 = 0
        var bytes = 0
        /// A drop was logged since the last write that went through.
        var loggedDrop = false
    }

    init(database: CachetteDatabase, options: CacheStoreOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        self.database = database
        self.pool = database.pool
        self.compressor = ZstdCompressor(level: options.zstdLevel)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let totals = try pool.read { db -> StoreTotals in
            let (entries, bytes) = try Self.entryTotals(db)
            let counters = try CachetteDatabase.counters(db)
            return StoreTotals(
                entries: entries, bytes: bytes, evictions: counters["evictions"] ?? 0, expirations: counters["expirations"] ?? 0
            )
        }
        totalsState = Mutex(totals)
        lastDataVersion = Mutex(try pool.writeWithoutTransaction(Self.dataVersion))
    }

    var totals: StoreTotals { totalsState.withLock { $0 } }

    // MARK: Reads

    /// The entry for `key`, fresh or not: one not yet written, else one indexed read.
    func entry(_ key: CacheKey) -> CachedResponse? {
        entry(key, memoryOnly: false)?.0
    }

    /// An entry not yet written is in memory; else, unless `memoryOnly`, one indexed read.
    func entry(_ key: CacheKey, memoryOnly: Bool) -> (CachedResponse, StoreTier)? {
        if let queued = queued(key) { return (queued, .memory) }
        guard !memoryOnly, let stored = stored(key) else { return nil }
        return (stored, .disk)
    }

    /// The last tier: nothing slower promotes into it.
    func promote(_ key: CacheKey, _ response: CachedResponse) {}

    /// The next flush deletes it.
    func expired(_ key: CacheKey) {}

    /// False when the file certainly holds no entry for `key`, so a lookup skips the read.
    func mayHold(_ key: CacheKey) -> Bool { storedKeys.mayHold(key) }

    /// An entry waiting to be written: an answer stored moments ago is always here.
    func queued(_ key: CacheKey) -> CachedResponse? {
        queue.withLock { $0.puts[key]?.entry.response }
    }

    /// One indexed read, decompressed.
    private func stored(_ key: CacheKey) -> CachedResponse? {
        guard mayHold(key) else { return nil }
        do {
            return try pool.unsafeRead { db -> CachedResponse? in
                let statement = try db.cachedStatement(
                    sql: """
                        SELECT status, content_type, created_at, expires_at, prompt_tokens, completion_tokens, body, events
                        FROM entries WHERE key = ?
                        """)
                let cursor = try Row.fetchCursor(statement, arguments: [Data(key.bytes)])
                guard let row = try cursor.next() else { return nil }
                return try response(row, from: 0)
            }
        } catch {
            // A damaged row is a miss: the fresh answer will replace it.
            logger.warning("cache read failed; treating as a miss", metadata: ["key": "\(key)", "error": "\(error)"])
            return nil
        }
    }

    /// The answer in a row's columns from `first` on: status, content_type, created_at,
    /// expires_at, prompt_tokens, completion_tokens, body, events.
    ///
    /// The file is outside input: any column may hold any value. Each is decoded with a
    /// throwing read (GRDB's subscripts trap on a NULL or a mismatched type), and the
    /// frames read in place, through `StoredColumns` as the shared tier's are.
    func response(_ row: Row, from first: Int) throws -> CachedResponse {
        let columns = StoredColumns(
            status: try row.decode(Int.self, atIndex: first), contentType: try row.decode(String.self, atIndex: first + 1),
            createdAt: try row.decode(Double.self, atIndex: first + 2), expiresAt: try row.decode(Double.self, atIndex: first + 3),
            usage: TokenUsage(
                promptTokens: try row.decode(Int.self, atIndex: first + 4), completionTokens: try row.decode(Int.self, atIndex: first + 5)))
        return try row.withUnsafeData(atIndex: first + 6) { body in
            try row.withUnsafeData(atIndex: first + 7) { events in
                try body.withBytes { body in
                    try events.withBytes { events in
                        try columns.response(body: body, events: events, limit: options.maxEntryBytes, decompressors: decompressors)
                    }
                }
            }
        }
    }

    /// A hit, for the LRU order and hit counts; written with the next flush.
    func recordAccess(_ key: CacheKey, now: Double) {
        queue.withLock { q in
            let previous = q.accesses[key]
            q.accesses[key] = (max(now, previous?.time ?? 0), (previous?.hits ?? 0) + 1)
        }
    }

    // MARK: Writes

    /// Queues an entry for the next flush.
    func store(_ key: CacheKey, _ entry: NewEntry) {
        queue(key, entry)
    }

    /// Queues an entry; false when the queue is full and it was dropped.
    @discardableResult
    func queue(_ key: CacheKey, _ entry: NewEntry) -> Bool {
        let size = entry.response.size
        let (queued, logDrop) = queue.withLock { q -> (Bool, Bool) in
            let replaced = q.puts[key]?.entry.response.size ?? 0
            guard q.bytes - replaced + size <= options.maxQueuedBytes else {
                defer { q.loggedDrop = true }
                return (false, !q.loggedDrop)
            }
            q.generation += 1
            q.puts[key] = (q.generation, entry)
            storedKeys.insert(key)
            q.removals.remove(key)
            q.bytes += size - replaced
            return (true, false)
        }
        guard queued else {
            totalsState.withLock { $0.droppedWrites += 1 }
            if logDrop {
                logger.error(
                    "cache write queue is full (SQLite is not taking writes); new answers are not stored until it drains",
                    metadata: ["max_queued_bytes": "\(options.maxQueuedBytes)"]
                )
            }
            return false
        }
        wake.yield()
        return true
    }

    /// Queues the removal of `key`'s entry, and forgets any write of it still queued.
    func remove(_ key: CacheKey) {
        queue.withLock { q in
            if let dropped = q.puts.removeValue(forKey: key) { q.bytes -= dropped.entry.response.size }
            q.removals.insert(key)
        }
        wake.yield()
    }

    /// Bytes of answers waiting to be written.
    var queuedBytes: Int { queue.withLock { $0.bytes } }
}

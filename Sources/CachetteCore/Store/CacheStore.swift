import Foundation
import GRDB
import Logging
import NIOCore
import Synchronization

public struct CacheStoreOptions: Sendable {
    public var path: String
    /// Budget for stored (compressed) entry bytes; least recently used entries go first.
    public var maxBytes: Int
    /// Budget for the in-memory hot tier (uncompressed bodies).
    public var memoryBytes: Int
    public var compressionLevel: Int32
    /// Most bytes of answers waiting to be written. While SQLite refuses writes (disk
    /// full, busy, read-only) the queue stops here: later answers are dropped, counted,
    /// not queued.
    public var maxQueuedBytes: Int
    /// Seconds an entry is kept past its TTL, to be served when the upstream fails
    /// (stale-if-error); it is removed when both are over.
    public var staleSeconds: Double

    public init(
        path: String, maxBytes: Int = 1 << 30, memoryBytes: Int = 64 << 20, compressionLevel: Int32 = 3, maxQueuedBytes: Int = 64 << 20,
        staleSeconds: Double = 0
    ) {
        self.path = path
        self.maxBytes = maxBytes
        self.memoryBytes = memoryBytes
        self.compressionLevel = compressionLevel
        self.maxQueuedBytes = maxQueuedBytes
        self.staleSeconds = staleSeconds
    }
}

/// What to store for a key.
public struct NewEntry: Sendable {
    public var route: String
    public var model: String
    public var response: CachedResponse

    public init(route: String, model: String, response: CachedResponse) {
        self.route = route
        self.model = model
        self.response = response
    }
}

public struct StoreTotals: Sendable, Equatable {
    public var entries = 0
    /// Stored bytes: compressed bodies plus a fixed per-entry overhead.
    public var bytes = 0
    public var evictions = 0
    public var expirations = 0
    /// Answers not written because the write queue was full (since start).
    public var droppedWrites = 0

    public init(entries: Int = 0, bytes: Int = 0, evictions: Int = 0, expirations: Int = 0) {
        self.entries = entries
        self.bytes = bytes
        self.evictions = evictions
        self.expirations = expirations
    }
}

/// The persistent cache: a SQLite file in WAL mode behind an in-memory hot tier.
///
/// Reads are synchronous and never wait on the writer: the hot tier, then entries
/// not yet written, then one indexed SQLite read. Writes and access times are queued
/// and applied by `flush` in one transaction, which also enforces TTL and the byte budget.
public final class CacheStore: Sendable {
    public let options: CacheStoreOptions
    public let database: CachetteDatabase
    let pool: DatabasePool
    let hot: HotTier
    private let queue = Mutex(WriteQueue())
    private let totalsState: Mutex<StoreTotals>
    /// Serialises flushes so two never interleave their eviction passes.
    private let flushGate = AsyncGate()
    private let logger: Logger
    private let wake: AsyncStream<Void>.Continuation
    private let wakeups: AsyncStream<Void>
    /// The writer connection's `PRAGMA data_version`: it moves only when another connection commits.
    private let lastDataVersion: Mutex<Int>
    /// Used only inside flushes, which the gate serialises.
    private let compressor: ZstdCompressor
    private let decompressors = ZstdDecompressors()

    /// Accounted on top of each compressed body for the row and its index entries.
    static let rowOverhead = 128

    struct WriteQueue {
        var puts: [CacheKey: (generation: UInt64, entry: NewEntry)] = [:]
        var accesses: [CacheKey: (time: Double, hits: Int)] = [:]
        var generation: UInt64 = 0
        var bytes = 0
        /// A drop was logged since the last write that went through.
        var loggedDrop = false
    }

    /// A store in `database`, which the ledger and the counters share.
    public init(database: CachetteDatabase, options: CacheStoreOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        self.database = database
        self.pool = database.pool
        self.hot = HotTier(budget: options.memoryBytes)
        self.compressor = ZstdCompressor(level: options.compressionLevel)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let totals = try pool.read { db -> StoreTotals in
            let row = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(sum(stored_size), 0) FROM entries")!
            let counters = try Dictionary(
                uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT name, value FROM counters").map {
                    ($0[0] as String, $0[1] as Int)
                })
            return StoreTotals(
                entries: row[0] as Int, bytes: row[1] as Int,
                evictions: counters["evictions"] ?? 0, expirations: counters["expirations"] ?? 0
            )
        }
        totalsState = Mutex(totals)
        lastDataVersion = Mutex(try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA data_version")! })
    }

    /// A store with a database of its own, at `options.path`.
    public convenience init(options: CacheStoreOptions, logger: Logger) throws {
        try self.init(database: CachetteDatabase(path: options.path, logger: logger), options: options, logger: logger)
    }

    public var totals: StoreTotals { totalsState.withLock { $0 } }

    // MARK: Reads

    /// The fresh entry for `key`, if any: memory first, then one indexed SQLite read.
    /// Synchronous: the hit path never suspends.
    public func lookup(_ key: CacheKey, now: Double) -> CachedResponse? {
        if let recent = lookupRecent(key, now: now) { return recent }
        guard let stored = readFromDatabase(key), stored.isFresh(at: now) else { return nil }
        hot.insert(key, stored)
        recordAccess(key, now: now)
        return stored
    }

    /// Memory only: the hot tier, then entries not yet written. An answer stored moments
    /// ago is always here, so a re-check right after a `lookup` missed need not read disk.
    public func lookupRecent(_ key: CacheKey, now: Double) -> CachedResponse? {
        if let hit = hot.get(key) {
            guard hit.isFresh(at: now) else {
                hot.remove(key)
                return nil
            }
            recordAccess(key, now: now)
            return hit
        }
        guard let queued = queue.withLock({ $0.puts[key]?.entry.response }), queued.isFresh(at: now) else { return nil }
        return queued
    }

    /// An entry past its TTL by less than `window` seconds (and still kept), for serving
    /// when the upstream fails: memory, then not yet written, then one indexed read.
    public func lookupStale(_ key: CacheKey, now: Double, within window: Double) -> CachedResponse? {
        guard window > 0 else { return nil }
        let candidate = hot.get(key) ?? queue.withLock({ $0.puts[key]?.entry.response }) ?? readFromDatabase(key)
        guard let candidate, now < candidate.expiresAt + min(window, options.staleSeconds) else { return nil }
        return candidate
    }

    private func readFromDatabase(_ key: CacheKey) -> CachedResponse? {
        do {
            return try pool.unsafeRead { db -> CachedResponse? in
                let statement = try db.cachedStatement(
                    sql: """
                        SELECT status, content_type, created_at, expires_at, prompt_tokens, completion_tokens, body, events
                        FROM entries WHERE key = ?
                        """)
                let cursor = try Row.fetchCursor(statement, arguments: [Data(key.bytes)])
                guard let row = try cursor.next() else { return nil }
                let body = try row.withUnsafeData(atIndex: 6) { data -> ByteBuffer in
                    guard let data else { throw ZstdError.decompressionFailed("missing body") }
                    return try data.withUnsafeBytes { try decompressors.decompress($0) }
                }
                let events = try row.withUnsafeData(atIndex: 7) { data -> RecordedStream? in
                    guard let data else { return nil }
                    return try RecordedStream(decoding: data.withUnsafeBytes { try decompressors.decompress($0) })
                }
                return CachedResponse(
                    status: row[0], contentType: row[1], body: body,
                    createdAt: row[2], expiresAt: row[3],
                    usage: TokenUsage(promptTokens: row[4], completionTokens: row[5]),
                    events: events
                )
            }
        } catch {
            // A damaged row is a miss: the fresh answer will replace it.
            logger.warning("cache read failed; treating as a miss", metadata: ["key": "\(key)", "error": "\(error)"])
            return nil
        }
    }

    private func recordAccess(_ key: CacheKey, now: Double) {
        queue.withLock { q in
            let previous = q.accesses[key]
            q.accesses[key] = (max(now, previous?.time ?? 0), (previous?.hits ?? 0) + 1)
        }
    }

    // MARK: Writes

    /// Queues an entry. It is served from memory at once and reaches SQLite on the next flush.
    public func store(_ key: CacheKey, _ entry: NewEntry) {
        let size = entry.response.size
        let (queued, logDrop) = queue.withLock { q -> (Bool, Bool) in
            let replaced = q.puts[key]?.entry.response.size ?? 0
            guard q.bytes - replaced + size <= options.maxQueuedBytes else {
                defer { q.loggedDrop = true }
                return (false, !q.loggedDrop)
            }
            q.generation += 1
            q.puts[key] = (q.generation, entry)
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
            return
        }
        hot.insert(key, entry.response)
        wake.yield()
    }

    /// Bytes of answers waiting to be written.
    public var queuedBytes: Int { queue.withLock { $0.bytes } }

    /// Writes queued entries and access times in one transaction, then enforces TTL and the byte budget.
    public func flush(now: Double = Date().timeIntervalSince1970) async throws {
        try await flushGate.run { try await flushLocked(now: now) }
    }

    private func flushLocked(now: Double) async throws {
        let (puts, accesses) = queue.withLock { q in
            let accesses = q.accesses
            q.accesses = [:]
            return (q.puts, accesses)
        }
        // Compress outside the write transaction; readers keep being served meanwhile.
        var rows: [(key: CacheKey, generation: UInt64, entry: NewEntry, compressed: [UInt8], events: [UInt8]?)] = []
        rows.reserveCapacity(puts.count)
        var unstorable: [(CacheKey, UInt64)] = []
        for (key, put) in puts {
            do {
                let compressed = try compressor.compress(put.entry.response.body)
                let events = try put.entry.response.events.map { try compressor.compress($0.encoded()) }
                rows.append((key, put.generation, put.entry, compressed, events))
            } catch {
                logger.error("could not compress a cache entry; not storing it", metadata: ["key": "\(key)", "error": "\(error)"])
                unstorable.append((key, put.generation))
            }
        }
        let maxBytes = options.maxBytes
        let staleSeconds = options.staleSeconds
        let written = rows
        let outcome = try await pool.write { db -> FlushOutcome in
            var outcome = FlushOutcome()
            let touch = try db.cachedStatement(
                sql: """
                    UPDATE entries SET accessed_at = max(accessed_at, ?), hit_count = hit_count + ? WHERE key = ?
                    """)
            for (key, access) in accesses {
                try touch.execute(arguments: [access.time, access.hits, Data(key.bytes)])
            }
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO entries (key, route, model, status, content_type, body, events, raw_size, stored_size,
                                         created_at, accessed_at, expires_at, prompt_tokens, completion_tokens)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(key) DO UPDATE SET
                        route = excluded.route, model = excluded.model, status = excluded.status,
                        content_type = excluded.content_type, body = excluded.body, events = excluded.events,
                        raw_size = excluded.raw_size,
                        stored_size = excluded.stored_size, created_at = excluded.created_at,
                        accessed_at = excluded.accessed_at, expires_at = excluded.expires_at,
                        prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
                        hit_count = 0
                    """)
            let previousSize = try db.cachedStatement(sql: "SELECT stored_size FROM entries WHERE key = ?")
            for row in written {
                let response = row.entry.response
                let storedSize = row.compressed.count + (row.events?.count ?? 0) + Self.rowOverhead
                guard storedSize <= maxBytes else {
                    outcome.rejected.append(row.key)
                    continue
                }
                let keyData = Data(row.key.bytes)
                let previous = try Int.fetchOne(previousSize, arguments: [keyData])
                try insert.execute(arguments: [
                    keyData, row.entry.route, row.entry.model, response.status, response.contentType,
                    Data(row.compressed), row.events.map { Data($0) }, response.size, storedSize,
                    response.createdAt, response.createdAt, response.expiresAt,
                    response.usage.promptTokens, response.usage.completionTokens,
                ])
                outcome.entryDelta += previous == nil ? 1 : 0
                outcome.byteDelta += storedSize - (previous ?? 0)
            }
            let expired = try Row.fetchAll(
                db.cachedStatement(sql: "DELETE FROM entries WHERE expires_at <= ? RETURNING key, stored_size"), arguments: [now - staleSeconds]
            )
            for row in expired {
                outcome.expired.append(CacheKey(bytes: row[0] as Data)!)
                outcome.entryDelta -= 1
                outcome.byteDelta -= row[1] as Int
            }
            var bytes = self.totals.bytes + outcome.byteDelta
            while bytes > maxBytes {
                let victims = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT key, stored_size FROM entries ORDER BY accessed_at, rowid LIMIT 64")
                )
                if victims.isEmpty { break }
                let delete = try db.cachedStatement(sql: "DELETE FROM entries WHERE key = ?")
                for victim in victims where bytes > maxBytes {
                    let data = victim[0] as Data
                    try delete.execute(arguments: [data])
                    outcome.evicted.append(CacheKey(bytes: data)!)
                    outcome.entryDelta -= 1
                    outcome.byteDelta -= victim[1] as Int
                    bytes -= victim[1] as Int
                }
            }
            if !outcome.evicted.isEmpty || !outcome.expired.isEmpty {
                let totals = self.totals
                try CachetteDatabase.saveCounters(
                    db,
                    [
                        ("evictions", totals.evictions + outcome.evicted.count),
                        ("expirations", totals.expirations + outcome.expired.count),
                    ])
            }
            return outcome
        }
        totalsState.withLock { t in
            t.entries += outcome.entryDelta
            t.bytes += outcome.byteDelta
            t.evictions += outcome.evicted.count
            t.expirations += outcome.expired.count
        }
        hot.remove(outcome.evicted)
        hot.remove(outcome.expired)
        hot.remove(outcome.rejected)
        // Forget the written puts, unless a newer answer for the same key arrived meanwhile.
        queue.withLock { q in
            for (key, generation) in rows.map({ ($0.key, $0.generation) }) + unstorable where q.puts[key]?.generation == generation {
                if let removed = q.puts.removeValue(forKey: key) { q.bytes -= removed.entry.response.size }
            }
            q.loggedDrop = false
        }
        if !outcome.evicted.isEmpty {
            logger.debug("evicted least recently used entries", metadata: ["count": "\(outcome.evicted.count)"])
        }
    }

    private struct FlushOutcome {
        var entryDelta = 0
        var byteDelta = 0
        var evicted: [CacheKey] = []
        var expired: [CacheKey] = []
        var rejected: [CacheKey] = []
    }

    /// Runs until cancelled: flushes `batchWindow` after entries are queued, so a burst
    /// of misses shares one transaction, and every `interval` for access times, TTL and
    /// changes made by other processes.
    public func runWriter(interval: Duration = .seconds(1), batchWindow: Duration = .milliseconds(10)) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    do {
                        try await self?.flush()
                        try await self?.dropHotTierIfChangedElsewhere()
                    } catch is CancellationError {
                        return  // shutting down; the owner flushes one last time
                    } catch {
                        self?.logger.error("cache maintenance failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            for await _ in wakeups {
                if Task.isCancelled { break }
                try? await Task.sleep(for: batchWindow)
                do {
                    try await flush()
                } catch is CancellationError {
                    break
                } catch {
                    logger.error("cache flush failed", metadata: ["error": "\(error)"])
                }
            }
            group.cancelAll()
        }
    }

    /// Another process (say `cachette cache clear`) changed the file: memory may be stale.
    private func dropHotTierIfChangedElsewhere() async throws {
        let version = try await pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA data_version")! }
        let changed = lastDataVersion.withLock { last -> Bool in
            defer { last = version }
            return last != version
        }
        guard changed else { return }
        logger.info("cache file changed by another process; reloading totals and emptying the memory tier")
        let (entries, bytes) = try await pool.read { db -> (Int, Int) in
            let row = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(sum(stored_size), 0) FROM entries")!
            return (row[0], row[1])
        }
        // Totals first, so nobody sees the emptied memory tier next to the old totals.
        totalsState.withLock { t in
            t.entries = entries
            t.bytes = bytes
        }
        hot.removeAll()
    }

    /// After `clear`: the file holds no entries.
    func resetTotals() {
        totalsState.withLock { t in
            t.entries = 0
            t.bytes = 0
        }
    }
}

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
    /// zstd's level for stored bodies (`cache.compression_level`). Alone, "compression"
    /// means the prompt compressor.
    package var zstdLevel: Int32
    /// Most bytes of answers waiting to be written. While SQLite refuses writes (disk
    /// full, busy, read-only) the queue stops here: later answers are dropped, counted,
    /// not queued.
    package var maxQueuedBytes: Int
    /// Seconds an entry is kept past its TTL, to be served when the upstream fails
    /// (stale-if-error); it is removed when both are over.
    package var staleSeconds: Double
    /// The largest answer a live one can be (`upstream.max_response_bytes`): a stored frame
    /// that claims more is damaged, and is not decompressed.
    package var maxEntryBytes: Int

    public init(
        path: String, maxBytes: Int = 1 << 30, memoryBytes: Int = 64 << 20, zstdLevel: Int32 = 3, maxQueuedBytes: Int = 64 << 20,
        staleSeconds: Double = 0, maxEntryBytes: Int = 64 << 20
    ) {
        self.maxEntryBytes = maxEntryBytes
        self.path = path
        self.maxBytes = maxBytes
        self.memoryBytes = memoryBytes
        self.zstdLevel = zstdLevel
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
    package var entries = 0
    /// Stored bytes: compressed bodies plus a fixed per-entry overhead.
    public var bytes = 0
    package var evictions = 0
    package var expirations = 0
    /// Answers not written because the write queue was full (since start).
    package var droppedWrites = 0

    public init(entries: Int = 0, bytes: Int = 0, evictions: Int = 0, expirations: Int = 0) {
        self.entries = entries
        self.bytes = bytes
        self.evictions = evictions
        self.expirations = expirations
    }
}

/// The cache: tiers read fastest first and written together. A memory tier (`HotTier`)
/// in front of the SQLite tier (`SQLiteTier`), and, when configured, a shared tier over
/// the network (`SharedCacheTier`) behind both.
///
/// Local reads are one walk of the local tiers (`lookup`), synchronous, and never wait
/// on the writer. The shared tier is asked only after the local ones missed, inside the
/// key's single flight (`lookupShared`), and what it has fills them.
public final class CacheStore: Sendable {
    public let options: CacheStoreOptions
    let memory: HotTier
    let disk: SQLiteTier
    /// The local tiers, fastest first, as `lookup` walks them.
    private let tiers: [any CacheTier]
    /// Asked after the local tiers (`lookupShared`); nil: this sidecar's tiers alone.
    let shared: (any SharedCacheTier)?
    private let logger: Logger

    /// A store in `database`, which the ledger and the counters share.
    public init(database: CachetteDatabase, options: CacheStoreOptions, shared: (any SharedCacheTier)? = nil, logger: Logger) throws {
        self.options = options
        self.logger = logger
        memory = HotTier(budget: options.memoryBytes)
        disk = try SQLiteTier(database: database, options: options, logger: logger)
        tiers = [memory, disk]
        self.shared = shared
    }

    /// A store with a database of its own, at `options.path`.
    public convenience init(options: CacheStoreOptions, logger: Logger) throws {
        try self.init(database: CachetteDatabase(path: options.path, logger: logger), options: options, logger: logger)
    }

    public var database: CachetteDatabase { disk.database }
    var pool: DatabasePool { disk.pool }
    public var totals: StoreTotals { disk.totals }
    /// Bytes of answers waiting to be written.
    package var queuedBytes: Int { disk.queuedBytes }

    // MARK: Reads

    /// What a lookup accepts.
    public enum Lookup: Sendable, Equatable {
        /// A fresh entry from any local tier: the hit path.
        case fresh
        /// A fresh entry held in memory (the memory tier, or an answer stored moments
        /// ago and not yet written): a re-check right after a `fresh` lookup missed.
        case recent
        /// An entry past its TTL by less than `within` seconds (and still kept), for
        /// serving when the upstream fails.
        case stale(within: Double)
    }

    /// Walks the local tiers fastest first: memory, then entries not yet written, then
    /// one indexed SQLite read. Synchronous: the hit path never suspends. A fresh hit
    /// is copied into the faster tiers and counted in each tier's LRU order.
    public func lookup(_ key: CacheKey, now: Double, _ wanted: Lookup = .fresh) -> (entry: CachedResponse, tier: StoreTier)? {
        if case .stale(let window) = wanted, window <= 0 { return nil }
        for depth in tiers.indices {
            guard let (entry, place) = tiers[depth].entry(key, memoryOnly: wanted == .recent) else { continue }
            if case .stale(let window) = wanted {
                return now < entry.expiresAt + min(window, options.staleSeconds) ? (entry, place) : nil
            }
            guard entry.isFresh(at: now) else {
                tiers[depth].expired(key)
                continue
            }
            for nearer in tiers[..<depth] { nearer.promote(key, entry) }
            for tier in tiers { tier.recordAccess(key, now: now) }
            shared?.recordAccess(key, now: now)
            return (entry, place)
        }
        return nil
    }

    /// Whether a shared tier is configured (`lookupShared` can find anything).
    package var hasSharedTier: Bool { shared != nil }

    /// The shared tier's fresh entry for `key`, after the local tiers missed; it fills
    /// them. A shared tier that is down or slow is a miss: the upstream answers instead.
    /// With `lead`, nil may leave this replica leading the key's flight across replicas:
    /// the caller stores the answer or calls `releaseShared`.
    package func lookupShared(_ key: CacheKey, now: Double, lead: Bool = true) async -> CachedResponse? {
        guard let shared, let found = await shared.fetch(key, now: now, lead: lead), found.response.isFresh(at: now) else { return nil }
        for tier in tiers { tier.store(key, found) }
        return found.response
    }

    /// Ends this replica's lead of `key`'s flight across replicas; after `store`, a no-op.
    package func releaseShared(_ key: CacheKey) {
        shared?.release(key)
    }

    // MARK: Writes

    /// Stores an answer in every tier: served from memory at once, in SQLite after the
    /// next flush, and in the shared tier after its next batch.
    public func store(_ key: CacheKey, _ entry: NewEntry) {
        shared?.store(key, entry)
        guard disk.queue(key, entry) else { return }
        memory.store(key, entry)
    }

    /// Writes what is queued to SQLite; whatever it evicted or expired leaves memory too.
    public func flush(now: Double = Date().timeIntervalSince1970) async throws {
        let dropped = try await disk.flush(now: now)
        memory.remove(dropped)
    }

    /// Runs until cancelled: flushes `batchWindow` after entries are queued, so a burst
    /// of misses shares one transaction, and every `interval` for access times, TTL and
    /// changes made by other processes.
    package func runWriter(interval: Duration = .seconds(1), batchWindow: Duration = .milliseconds(10)) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [weak self] in
                do {
                    try await self?.disk.loadKeys()
                } catch is CancellationError {
                    return  // stopped before it began (a failed start)
                } catch {
                    self?.logger.warning("could not read the cache's keys; every miss reads the file", metadata: ["error": "\(error)"])
                }
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    do {
                        try await self?.flush()
                        try await self?.dropMemoryIfChangedElsewhere()
                    } catch is CancellationError {
                        return  // shutting down; the owner flushes one last time
                    } catch {
                        self?.logger.error("cache maintenance failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            for await _ in disk.wakeups {
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

    /// Another process changed the file: the memory tier may hold what it removed.
    private func dropMemoryIfChangedElsewhere() async throws {
        if try await disk.changedElsewhere() { memory.removeAll() }
    }
}

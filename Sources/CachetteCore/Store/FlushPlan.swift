/// What one flush of the SQLite tier decides, apart from SQLite: which answers fit the
/// byte budget at all, what is past keeping, which entries the budget evicts (least
/// recently used first, and no more than it must), and how the totals move. The tier
/// runs the statements; this value is tested without a file.
struct FlushPlan {
    /// `cache.max_bytes`.
    let maxBytes: Int
    /// Entries that expired at or before this are deleted: TTL plus the stale window.
    let expiryCutoff: Double
    /// The file's stored bytes when the flush began.
    let startBytes: Int

    private(set) var entryDelta = 0
    private(set) var byteDelta = 0
    private(set) var evictions = 0
    private(set) var expirations = 0
    /// Keys whose entries are gone, by why: the tiers above must drop them too.
    private(set) var evicted: [CacheKey] = []
    private(set) var expired: [CacheKey] = []
    private(set) var rejected: [CacheKey] = []
    /// Removed on request (`remove`): the caller dropped them already.
    private(set) var removed: [CacheKey] = []

    /// Accounted on top of each compressed body for the row and its index entries.
    static let rowOverhead = 128

    init(maxBytes: Int, staleSeconds: Double, now: Double, startBytes: Int) {
        self.maxBytes = maxBytes
        self.expiryCutoff = now - staleSeconds
        self.startBytes = startBytes
    }

    /// The file's stored bytes as the plan stands.
    var bytes: Int { startBytes + byteDelta }

    /// What a row costs the budget.
    static func storedSize(body: Int, events: Int?) -> Int { body + (events ?? 0) + rowOverhead }

    /// The most a row can hold: SQLite's largest row.
    static let maxRowBytes = Int(Int32.max)

    /// A stored size read back from the file, which may hold anything: a whole number
    /// held to `0...maxRowBytes`, so sums of them cannot overflow. (`entryTotals` has the
    /// same rule in SQL: other types count 0.)
    static func storedSize(of read: Int) -> Int { min(max(read, 0), maxRowBytes) }

    /// Whether an answer of `storedSize` may be written: one larger than the whole
    /// budget would only evict everything and then itself, so it is refused.
    mutating func admit(_ key: CacheKey, storedSize: Int) -> Bool {
        guard storedSize <= maxBytes else {
            rejected.append(key)
            return false
        }
        return true
    }

    /// A row written over `previous` bytes of an entry for the same key, or a new one.
    mutating func wrote(storedSize: Int, previous: Int?) {
        if previous == nil { entryDelta += 1 }
        byteDelta += storedSize - (previous ?? 0)
    }

    mutating func removed(_ key: CacheKey, size: Int) {
        removed.append(key)
        entryDelta -= 1
        byteDelta -= size
    }

    /// An entry past `expiryCutoff`, deleted; a key of another length (a damaged file)
    /// is counted but has nothing in memory to drop.
    mutating func expired(_ key: CacheKey?, size: Int) {
        if let key { expired.append(key) }
        expirations += 1
        entryDelta -= 1
        byteDelta -= size
    }

    var overBudget: Bool { bytes > maxBytes }

    /// Of `candidates` (least recently used first), those to delete: each is taken only
    /// while the file is still over the budget.
    mutating func evict<ID>(from candidates: [(id: ID, key: CacheKey?, size: Int)]) -> [ID] {
        var victims: [ID] = []
        for candidate in candidates where overBudget {
            victims.append(candidate.id)
            if let key = candidate.key { evicted.append(key) }
            evictions += 1
            entryDelta -= 1
            byteDelta -= candidate.size
        }
        return victims
    }

    /// Every key the tiers above must forget: evicted, expired, or refused.
    var dropped: [CacheKey] { evicted + expired + rejected }
}

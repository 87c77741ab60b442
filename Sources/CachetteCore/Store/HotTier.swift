import Synchronization

/// The in-memory tier in front of SQLite: a byte-bounded LRU. A hit costs one lock,
/// one dictionary lookup and two list relinks; the body is shared, never copied.
final class HotTier: CacheTier {
    private let state: Mutex<LRUList>

    init(budget: Int) {
        state = Mutex(LRUList(budget: budget))
    }

    /// Rough per-entry bookkeeping on top of the body, so tiny bodies still count.
    static let entryOverhead = 256

    /// Returns false when the entry is larger than the whole budget.
    @discardableResult
    func insert(_ key: CacheKey, _ value: CachedResponse) -> Bool {
        let cost = value.size + Self.entryOverhead
        return state.withLock { $0.insert(key, value, cost: cost) }
    }

    func remove(_ key: CacheKey) {
        state.withLock { $0.remove(key) }
    }

    func remove(_ keys: some Sequence<CacheKey>) {
        state.withLock { list in
            for key in keys { list.remove(key) }
        }
    }

    func removeAll() {
        state.withLock { $0.removeAll() }
    }

    var count: Int { state.withLock { $0.index.count } }

    // CacheTier

    func entry(_ key: CacheKey, memoryOnly: Bool) -> (CachedResponse, StoreTier)? {
        state.withLock { $0.get(key) }.map { ($0, .memory) }
    }

    /// `insert`, for a new entry.
    func store(_ key: CacheKey, _ entry: NewEntry) { insert(key, entry.response) }

    func promote(_ key: CacheKey, _ response: CachedResponse) { insert(key, response) }

    /// Reading it moved it to the front already.
    func recordAccess(_ key: CacheKey, now: Double) {}

    func expired(_ key: CacheKey) { remove(key) }
}

/// A doubly linked LRU list over an array of slots, indexed by a dictionary.
struct LRUList {
    struct Slot {
        var key: CacheKey
        var value: CachedResponse?
        var cost: Int
        var prev: Int
        var next: Int
    }

    let budget: Int
    private(set) var bytes = 0
    private(set) var index: [CacheKey: Int] = [:]
    private var slots: [Slot] = []
    private var free: [Int] = []
    private var head = -1  // most recent
    private var tail = -1  // least recent

    init(budget: Int) {
        self.budget = budget
    }

    mutating func get(_ key: CacheKey) -> CachedResponse? {
        guard let i = index[key] else { return nil }
        moveToFront(i)
        return slots[i].value
    }

    mutating func insert(_ key: CacheKey, _ value: CachedResponse, cost: Int) -> Bool {
        remove(key)
        guard cost <= budget else { return false }
        while bytes + cost > budget, tail >= 0 {
            remove(slots[tail].key)
        }
        let slot = Slot(key: key, value: value, cost: cost, prev: -1, next: head)
        let i: Int
        if let reused = free.popLast() {
            i = reused
            slots[i] = slot
        } else {
            i = slots.count
            slots.append(slot)
        }
        if head >= 0 { slots[head].prev = i }
        head = i
        if tail < 0 { tail = i }
        index[key] = i
        bytes += cost
        return true
    }

    mutating func remove(_ key: CacheKey) {
        guard let i = index.removeValue(forKey: key) else { return }
        unlink(i)
        bytes -= slots[i].cost
        slots[i].value = nil
        free.append(i)
    }

    mutating func removeAll() {
        self = LRUList(budget: budget)
    }

    private mutating func moveToFront(_ i: Int) {
        guard head != i else { return }
        unlink(i)
        slots[i].prev = -1
        slots[i].next = head
        if head >= 0 { slots[head].prev = i }
        head = i
        if tail < 0 { tail = i }
    }

    private mutating func unlink(_ i: Int) {
        let prev = slots[i].prev, next = slots[i].next
        if prev >= 0 { slots[prev].next = next } else { head = next }
        if next >= 0 { slots[next].prev = prev } else { tail = prev }
        slots[i].prev = -1
        slots[i].next = -1
    }
}

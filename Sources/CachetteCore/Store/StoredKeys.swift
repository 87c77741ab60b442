import Synchronization

/// The keys the SQLite file holds, in memory, so that a miss (every new prompt) is
/// known without a read: in the server that read cost each miss 70 µs of CPU (12 µs
/// in `make micro`), for 16 to 43 bytes a key (a hash set of 16-byte keys).
///
/// It may say "maybe" for a key the file no longer holds (that costs the read it saves),
/// never "no" for one this process stored. Until loaded, and while reloading after
/// another process changed the file (seen within the writer's interval), every answer is "maybe".
final class StoredKeys: Sendable {
    private struct State {
        var keys: Set<CacheKey> = []
        var loaded = false
        /// While a load runs: the keys inserted since it began, which its read may miss.
        var fresh: Set<CacheKey>?
        /// Tells the latest load from one it replaced.
        var load = 0
    }

    private let state = Mutex(State())

    /// False only when the file certainly holds no entry for `key`.
    func mayHold(_ key: CacheKey) -> Bool {
        state.withLock { !$0.loaded || $0.keys.contains(key) }
    }

    /// An entry for `key` is queued to be written.
    func insert(_ key: CacheKey) {
        state.withLock { s in
            s.keys.insert(key)
            s.fresh?.insert(key)
        }
    }

    /// The entry for each key was deleted, and no newer one is queued.
    func remove(_ keys: some Sequence<CacheKey>) {
        state.withLock { s in
            for key in keys {
                s.keys.remove(key)
                s.fresh?.remove(key)
            }
        }
    }

    /// Begins a load of every key in the file: until `finishLoad`, every answer is
    /// "maybe". `queued`: the keys waiting to be written now, which the read may come
    /// too early to see; taken under the same lock as `insert`'s callers, so none slips between.
    func beginLoad(queued: some Sequence<CacheKey>) -> Int {
        state.withLock { s in
            s.loaded = false
            s.fresh = (s.fresh ?? []).union(queued)
            s.load += 1
            return s.load
        }
    }

    /// `keys`: what the file held when read. A key removed since may come back from
    /// that read, which costs only a read later.
    func finishLoad(_ load: Int, keys: Set<CacheKey>) {
        state.withLock { s in
            guard s.load == load else { return }  // a newer load replaced this one
            s.keys = keys.union(s.fresh ?? [])
            s.fresh = nil
            s.loaded = true
        }
    }
}

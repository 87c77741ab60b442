import CachetteCore
import Synchronization

/// The shared tier's state, for `/health`, and its counters, for `/metrics` and `/stats`.
package struct SharedStatus: Sendable, Equatable {
    package enum State: String, Sendable {
        /// Connecting and migrating; reads are local misses meanwhile.
        case starting
        case up
        /// Unreachable, refusing, or too slow: the sidecar serves from its local tiers and retries.
        case down
    }

    package var state: State
    /// The last failure, its password scrubbed.
    package var lastError: String?
    package var counts: SharedCounts
}

package struct SharedCounts: Sendable, Equatable {
    /// Reads that found a fresh entry (after waiting for another replica, or not).
    package var hits = 0
    package var misses = 0
    /// Reads or writes that failed.
    package var errors = 0
    /// Reads slower than `shared.timeout`.
    package var timeouts = 0
    /// Reads that waited for another replica's flight.
    package var flightWaits = 0
    /// Waits that ended without the entry at the deadline: the request called the upstream itself.
    package var flightTimeouts = 0
    package var writes = 0
    /// Answers not written: the queue was full while PostgreSQL was away, or the write failed.
    package var droppedWrites = 0
    /// Entries removed by this replica's pruning runs (TTL and the byte budget).
    package var pruned = 0
    /// Pruning runs this replica won the lock for.
    package var pruneRuns = 0

    package init() {}
}

/// The counters as atomics: bumped on request paths without a lock.
final class SharedCounters: Sendable {
    let hits = Atomic<Int>(0)
    let misses = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let timeouts = Atomic<Int>(0)
    let flightWaits = Atomic<Int>(0)
    let flightTimeouts = Atomic<Int>(0)
    let writes = Atomic<Int>(0)
    let droppedWrites = Atomic<Int>(0)
    let pruned = Atomic<Int>(0)
    let pruneRuns = Atomic<Int>(0)

    var snapshot: SharedCounts {
        var c = SharedCounts()
        c.hits = hits.load(ordering: .relaxed)
        c.misses = misses.load(ordering: .relaxed)
        c.errors = errors.load(ordering: .relaxed)
        c.timeouts = timeouts.load(ordering: .relaxed)
        c.flightWaits = flightWaits.load(ordering: .relaxed)
        c.flightTimeouts = flightTimeouts.load(ordering: .relaxed)
        c.writes = writes.load(ordering: .relaxed)
        c.droppedWrites = droppedWrites.load(ordering: .relaxed)
        c.pruned = pruned.load(ordering: .relaxed)
        c.pruneRuns = pruneRuns.load(ordering: .relaxed)
        return c
    }
}

extension Atomic where Value == Int {
    func bump(_ by: Int = 1) { wrappingAdd(by, ordering: .relaxed) }
}

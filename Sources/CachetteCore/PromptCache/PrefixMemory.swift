import Synchronization

/// What steering remembers, per credential scope: the hashes of the prefixes it
/// forwarded and when (never their text), and how often the scope's prompts recur and
/// its conversations continue. Bounded by `capacity` prefixes, the least recently seen
/// forgotten first; a prefix unseen for an hour (the longest a provider keeps one) is
/// forgotten too.
package final class PrefixMemory: Sendable {
    package static let forgetAfter = 3600.0
    static let fiveMinutes = 300.0

    struct Entry {
        var lastSeen: Double
        var stamp: UInt64
        /// Forwarded as the whole prompt of a request: a later prompt that extends it continues a conversation.
        var tail = false
        /// Marked, and until when the provider keeps it.
        var writtenUntil = 0.0
        /// As a stable prefix: seen once and not yet again.
        var firstSight = false
        /// As a stable prefix: the first turns that began with it, and how many continued.
        var turns = BreakpointPlan.Count()
        /// As a tail: the first turn of a conversation, not yet continued, and its stable prefix.
        var firstTurnOf: CacheKey?
        /// The prefix through here was counted and reaches the model's minimum.
        var long = false
    }

    struct Scope {
        var lastSeen: Double
        var turns = BreakpointPlan.Count()
        var sights = BreakpointPlan.Count()
        var reuses = BreakpointPlan.Count()
    }

    struct State {
        var entries: [CacheKey: Entry] = [:]
        /// Keys in the order they were touched, with the stamp of that touch; a key whose
        /// entry has a later stamp was touched again since.
        var order: [(key: CacheKey, stamp: UInt64)] = []
        var head = 0
        var stamp: UInt64 = 0
        var scopes: [CacheKey: Scope] = [:]
    }

    package let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { state.withLock { $0.entries.count } }

    /// Looks the request up, plans its markers, and remembers it, in one step. Only a
    /// stable prefix that may be long enough to cache (`longStable`) counts towards how
    /// often the scope's stable prefixes recur: short ones recur without paying.
    package func plan(_ request: MessagesBlocks, scope: CacheKey, longStable: Bool, now: Double) -> BreakpointPlan {
        state.withLock { state in
            let stableKey = request.stableEnd.map { request.prefixes[$0] } ?? request.start
            var knowledge = BreakpointPlan.Knowledge()
            var scopeStats = state.scopes[scope] ?? Scope(lastSeen: now)
            let stableEntry = state.alive(stableKey, now: now)
            knowledge.stableSeen = request.stableEnd != nil && stableEntry != nil
            knowledge.stableTurns = stableEntry?.turns ?? .init()
            knowledge.offersTools = request.offersTools
            knowledge.stableMayBeLong = longStable
            // The longest prefix beyond the stable one that was forwarded or marked.
            let first = (request.stableEnd ?? -1) + 1
            for index in stride(from: request.prefixes.count - 1, through: first, by: -1) {
                guard let entry = state.alive(request.prefixes[index], now: now) else { continue }
                if knowledge.continuedAt == nil, entry.tail { knowledge.continuedAt = index }
                if knowledge.writtenAt == nil, entry.writtenUntil > now { knowledge.writtenAt = index }
                if knowledge.continuedAt != nil && knowledge.writtenAt != nil { break }
            }
            if knowledge.writtenAt == nil, let end = request.stableEnd, let stableEntry, stableEntry.writtenUntil > now {
                knowledge.writtenAt = end
            }
            knowledge.scopeTurns = scopeStats.turns
            knowledge.scopeSights = scopeStats.sights
            knowledge.scopeReuses = scopeStats.reuses
            var plan = BreakpointPlan(blocks: request.blocks, stableEnd: request.stableEnd, knowledge: knowledge)
            plan.knownLongFrom = [request.stableEnd, knowledge.continuedAt, knowledge.writtenAt].compactMap { $0 }
                .filter { state.entries[request.prefixes[$0]]?.long == true }.min()

            // How long since this prompt's prefix was last seen, before touching it.
            if let reused = knowledge.continuedAt.map({ request.prefixes[$0] }) ?? (knowledge.stableSeen ? stableKey : nil),
                let last = state.entries[reused]?.lastSeen
            {
                scopeStats.reuses.add(success: now - last > Self.fiveMinutes)
            }
            // Remember: the stable prefix, the conversation's continuation, and this prompt.
            if request.stableEnd != nil {
                state.touch(stableKey, now: now) { entry, new in
                    if new {
                        entry.firstSight = longStable
                        if longStable { scopeStats.sights.add(success: false) }
                    } else if entry.firstSight {
                        entry.firstSight = false
                        scopeStats.sights.succeed()
                    }
                }
            }
            if let continued = knowledge.continuedAt {
                var continuedStable: CacheKey?
                state.touch(request.prefixes[continued], now: now) { entry, _ in
                    continuedStable = entry.firstTurnOf
                    entry.firstTurnOf = nil
                }
                if let continuedStable {
                    scopeStats.turns.succeed()
                    state.entries[continuedStable]?.turns.succeed()
                }
            }
            if knowledge.continuedAt == nil {
                scopeStats.turns.add(success: false)
                state.touch(stableKey, now: now) { entry, _ in entry.turns.add(success: false) }
            }
            if let last = request.prefixes.last {
                let firstTurn = knowledge.continuedAt == nil
                state.touch(last, now: now) { entry, _ in
                    entry.tail = true
                    if firstTurn { entry.firstTurnOf = stableKey }
                }
            }
            for mark in plan.marks {
                let lifetime = mark.hour ? Self.forgetAfter : Self.fiveMinutes
                state.touch(request.prefixes[mark.block], now: now) { entry, _ in
                    entry.writtenUntil = max(entry.writtenUntil, now + lifetime)
                }
            }
            if let read = knowledge.writtenAt, plan.marks.contains(where: { $0.block >= read }) {
                // A read keeps the prefix for another lifetime.
                let lifetime = plan.marks.first?.hour == true ? Self.forgetAfter : Self.fiveMinutes
                state.entries[request.prefixes[read]]?.writtenUntil = now + lifetime
            }
            scopeStats.lastSeen = now
            state.scopes[scope] = scopeStats
            state.evict(capacity: capacity, now: now)
            return plan
        }
    }

    /// What counting found: marks planned but not sent (the prefix was too short) are
    /// not written; prefixes that reach the minimum need no counting again.
    func counted(short: [CacheKey], long: [CacheKey]) {
        state.withLock { state in
            for key in short { state.entries[key]?.writtenUntil = 0 }
            for key in long { state.entries[key]?.long = true }
        }
    }
}

extension PrefixMemory.State {
    func alive(_ key: CacheKey, now: Double) -> PrefixMemory.Entry? {
        guard let entry = entries[key], now - entry.lastSeen < PrefixMemory.forgetAfter else { return nil }
        return entry
    }

    /// Updates (or creates) an entry and makes it the most recently seen.
    mutating func touch(_ key: CacheKey, now: Double, _ change: (inout PrefixMemory.Entry, _ new: Bool) -> Void) {
        stamp &+= 1
        let existing = alive(key, now: now)
        var entry = existing ?? PrefixMemory.Entry(lastSeen: now, stamp: stamp)
        change(&entry, existing == nil)
        entry.lastSeen = now
        entry.stamp = stamp
        entries[key] = entry
        order.append((key, stamp))
    }

    /// Forgets the least recently seen entries past `capacity`, and scopes with none left.
    mutating func evict(capacity: Int, now: Double) {
        while entries.count > capacity, head < order.count {
            let oldest = order[head]
            head += 1
            if entries[oldest.key]?.stamp == oldest.stamp { entries[oldest.key] = nil }
        }
        // The touch log holds stale touches too; compact it when it is mostly stale.
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
        if order.count - head > 4 * capacity + 1024 {
            order = order[head...].filter { entries[$0.key]?.stamp == $0.stamp }
            head = 0
        }
        if scopes.count > max(64, capacity / 8) {
            scopes = scopes.filter { now - $0.value.lastSeen < PrefixMemory.forgetAfter }
            while scopes.count > max(64, capacity / 8), let oldest = scopes.min(by: { $0.value.lastSeen < $1.value.lastSeen }) {
                scopes[oldest.key] = nil
            }
        }
    }
}

/// Where a request's `cache_control` markers go, decided from what the sidecar
/// remembers of its scope. Pure: `PrefixMemory` supplies the `Knowledge`.
///
/// Anthropic bills a prefix written at 1.25× the input price (2× for an hour) and read
/// at 0.1×. Extra breakpoints cost nothing: a request pays to write the tokens from the
/// end of what it read to its last breakpoint. So the one priced choice is how far the
/// last marker reaches, and a marker is placed only where the reads it is expected to
/// bring repay its premium: a write pays when the chance of a read within its lifetime
/// is at least premium / (1 − read price), 0.25 / 0.9 ≈ 0.28 for five minutes.
package struct BreakpointPlan: Sendable, Equatable {
    package struct Mark: Sendable, Equatable {
        package var block: Int
        package var hour: Bool
    }

    /// Ascending, at most `maxBreakpoints`.
    package var marks: [Mark] = []
    /// Markers not placed because they would not pay.
    package var skipped = 0
    /// A block through which the prefix is known to reach the minimum (counted before),
    /// so the markers from there on need no counting.
    package var knownLongFrom: Int?

    package static let maxBreakpoints = 4
    /// Anthropic looks back this many blocks from a breakpoint for an earlier write.
    package static let lookBack = 20
    package static let readPrice = 0.1
    package static let write5mPrice = 1.25
    package static let write1hPrice = 2.0
    /// The chance of a read within five minutes at which a five-minute write pays.
    package static let breakEven = (write5mPrice - 1) / (1 - readPrice)
    /// The share of reuses that come after five minutes (and within the hour) at which
    /// an hour's write pays over five minutes': each saves a 1.25× rewrite for a 0.1×
    /// read, against 0.75× more premium.
    package static let hourBreakEven = (write1hPrice - write5mPrice) / (write5mPrice - readPrice)

    /// What the memory knows of one request.
    package struct Knowledge: Sendable, Equatable {
        /// The longest prefix of this request forwarded before (a conversation continues).
        package var continuedAt: Int?
        /// The longest prefix of this request marked before and still alive.
        package var writtenAt: Int?
        /// Its stable prefix (tools and system) was forwarded before.
        package var stableSeen = false
        /// It offers tools: a tool call has to be answered, so the conversation goes on.
        package var offersTools = false
        /// Its stable prefix has enough bytes to reach the minimum (a token is at least a byte).
        package var stableMayBeLong = true
        /// First turns that began with this stable prefix, and how many continued.
        package var stableTurns: Count = .init()
        /// The scope's first turns, and how many continued.
        package var scopeTurns: Count = .init()
        /// The scope's stable prefixes seen once, and how many were seen again.
        package var scopeSights: Count = .init()
        /// The scope's reuses, and how many came after five minutes.
        package var scopeReuses: Count = .init()

        package init() {}
    }

    /// Outcomes out of trials.
    package struct Count: Sendable, Equatable {
        package var trials = 0.0
        package var successes = 0.0
        package init(trials: Double = 0, successes: Double = 0) {
            self.trials = trials
            self.successes = successes
        }
        /// With one unseen failure as the prior: nothing recurs until it has.
        package var rate: Double { successes / (trials + 1) }
        /// With one unseen success and one unseen failure (Laplace's rule): an even
        /// chance until there is evidence either way.
        package var evenRate: Double { (successes + 1) / (trials + 2) }

        mutating func add(success: Bool) {
            // Old evidence fades: the rate follows what the scope does now.
            if trials >= 256 {
                trials /= 2
                successes /= 2
            }
            trials += 1
            if success { successes += 1 }
        }

        mutating func succeed() { successes = min(trials, successes + 1) }
    }

    package init(blocks: [MessagesBlocks.Block], stableEnd: Int?, knowledge k: Knowledge) {
        let stable = stableEnd.flatMap { blocks[$0].markable && k.stableMayBeLong ? $0 : nil }
        let tail = blocks.indices.last(where: { !blocks[$0].isStable && blocks[$0].markable })
        // This stable prefix's own record decides; without one, a request that offers
        // tools is taken to continue, and any other goes by the scope's record.
        let firstTurnsContinue =
            k.stableTurns.trials > 0 ? k.stableTurns.rate >= Self.breakEven : k.offersTools || k.scopeTurns.rate >= Self.breakEven
        let markTail = tail != nil && (k.continuedAt != nil || firstTurnsContinue)
        // A stable prefix never seen is marked unless the scope's new stable prefixes
        // have been shown not to recur: its premium is a quarter of it, against a tail's
        // (everything after it) for a first turn, which needs evidence first.
        let markStable = stable != nil && (markTail || k.stableSeen || k.scopeSights.evenRate >= Self.breakEven)
        if stable != nil && !markStable { skipped += 1 }
        if tail != nil && !markTail { skipped += 1 }
        var chosen: [Int] = []
        if markStable, let stable { chosen.append(stable) }
        if markTail, let tail {
            // A write more than `lookBack` blocks behind the tail is out of its reach:
            // a bridge at (or just past) it reads it back.
            if let written = k.writtenAt, written < tail, tail - written > Self.lookBack,
                let bridge = (written...min(written + Self.lookBack, tail - 1)).last(where: { blocks[$0].markable }),
                !chosen.contains(bridge)
            {
                chosen.append(bridge)
            }
            chosen.append(tail)
        }
        let hour = k.scopeReuses.trials >= 2 && k.scopeReuses.rate >= Self.hourBreakEven
        marks = chosen.sorted().prefix(Self.maxBreakpoints).map { Mark(block: $0, hour: hour) }
    }
}

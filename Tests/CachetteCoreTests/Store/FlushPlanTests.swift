import Testing

@testable import CachetteCore

@Suite("What a flush decides, without SQLite")
struct FlushPlanTests {
    static func key(_ n: UInt8) -> CacheKey { CacheKey(bytes: [UInt8](repeating: n, count: 16))! }

    @Test("an answer larger than the whole budget is refused and its key dropped; one that fits is admitted")
    func admission() {
        var plan = FlushPlan(maxBytes: 1_000, staleSeconds: 0, now: 0, startBytes: 0)
        let fits = plan.admit(Self.key(1), storedSize: 1_000)
        let tooLarge = plan.admit(Self.key(2), storedSize: 1_001)
        #expect(fits && !tooLarge)
        #expect(plan.rejected == [Self.key(2)] && plan.dropped == [Self.key(2)])
    }

    @Test("a write over an entry for the same key moves the bytes by the difference and adds no entry")
    func replacement() {
        var plan = FlushPlan(maxBytes: 10_000, staleSeconds: 0, now: 0, startBytes: 500)
        plan.wrote(storedSize: 300, previous: 200)
        plan.wrote(storedSize: 400, previous: nil)
        #expect(plan.entryDelta == 1 && plan.byteDelta == 500 && plan.bytes == 1_000)
    }

    @Test("entries expire at TTL plus the stale window: the cutoff is now minus the window")
    func expiryCutoff() {
        let plan = FlushPlan(maxBytes: 1, staleSeconds: 3_600, now: 10_000, startBytes: 0)
        #expect(plan.expiryCutoff == 6_400)
    }

    @Test("eviction takes the least recently used first, and stops as soon as the budget holds")
    func evictsNoMoreThanItMust() {
        var plan = FlushPlan(maxBytes: 1_000, staleSeconds: 0, now: 0, startBytes: 1_000)
        plan.wrote(storedSize: 250, previous: nil)
        #expect(plan.overBudget)
        let victims = plan.evict(from: [(1, Self.key(1), 100), (2, Self.key(2), 200), (3, Self.key(3), 300)])
        #expect(victims == [1, 2], "100 bytes left 150 over; 200 more brought it to 950")
        #expect(plan.evicted == [Self.key(1), Self.key(2)] && plan.evictions == 2 && plan.bytes == 950 && !plan.overBudget)
        #expect(plan.entryDelta == -1)
    }

    @Test("a damaged row is counted when it expires or is evicted, with no key to drop")
    func damagedRows() {
        var plan = FlushPlan(maxBytes: 0, staleSeconds: 0, now: 0, startBytes: 30)
        plan.expired(nil, size: 10)
        let victims = plan.evict(from: [(7, nil, 20)])
        #expect(victims == [7])
        #expect(plan.expirations == 1 && plan.evictions == 1 && plan.dropped.isEmpty && plan.bytes == 0)
    }

    @Test("stored sizes read back from the file are held to what a row can be")
    func sizesFromTheFile() {
        #expect(FlushPlan.storedSize(of: -5) == 0)
        #expect(FlushPlan.storedSize(of: .max) == FlushPlan.maxRowBytes)
        #expect(FlushPlan.storedSize(of: 4_096) == 4_096)
    }
}

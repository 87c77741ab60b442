@testable import CachetteCore
import Testing

@Suite("BreakpointPlan: what pays")
struct BreakpointPlanTests {
    static func blocks(stable: Int, messages: Int, unmarkable: Set<Int> = []) -> [MessagesBlocks.Block] {
        (0..<(stable + messages)).map {
            .init(span: 0..<1, isString: false, isEmptyObject: false, markable: !unmarkable.contains($0), isStable: $0 < stable)
        }
    }

    @Test("the break-even chances are the prices' arithmetic")
    func breakEven() {
        #expect(abs(BreakpointPlan.breakEven - 0.2778) < 1e-4)
        #expect(abs(BreakpointPlan.hourBreakEven - 0.6522) < 1e-4)
    }

    @Test("first turns are marked once this stable prefix's first turns continue, or the scope's do when it has none")
    func firstTurns() {
        var k = BreakpointPlan.Knowledge()
        k.scopeSights = .init(trials: 4, successes: 0)
        let blocks = Self.blocks(stable: 2, messages: 1)
        #expect(BreakpointPlan(blocks: blocks, stableEnd: 1, knowledge: k).marks.isEmpty)
        k.offersTools = true
        #expect(BreakpointPlan(blocks: blocks, stableEnd: 1, knowledge: k).marks.map(\.block) == [1, 2], "a tool call must be answered")
        k.offersTools = false
        k.scopeTurns = .init(trials: 3, successes: 2)
        #expect(BreakpointPlan(blocks: blocks, stableEnd: 1, knowledge: k).marks.map(\.block) == [1, 2])
        k.stableTurns = .init(trials: 4, successes: 0)
        #expect(BreakpointPlan(blocks: blocks, stableEnd: 1, knowledge: k).marks.isEmpty, "this prefix's own record wins")
        k.stableSeen = true
        #expect(BreakpointPlan(blocks: blocks, stableEnd: 1, knowledge: k).marks.map(\.block) == [1])
    }

    @Test("a thinking block at the tail moves the marker back; an hour when most reuse comes after five minutes")
    func tailAndHour() {
        var k = BreakpointPlan.Knowledge()
        k.continuedAt = 2
        let plan = BreakpointPlan(blocks: Self.blocks(stable: 1, messages: 4, unmarkable: [4]), stableEnd: 0, knowledge: k)
        #expect(plan.marks == [.init(block: 0, hour: false), .init(block: 3, hour: false)])
        k.scopeReuses = .init(trials: 9, successes: 7)
        #expect(BreakpointPlan(blocks: Self.blocks(stable: 1, messages: 4), stableEnd: 0, knowledge: k).marks.allSatisfy { $0.hour })
    }

    @Test("a bridge goes on the last markable block within 20 past the write")
    func bridge() {
        var k = BreakpointPlan.Knowledge()
        k.continuedAt = 5
        k.writtenAt = 5
        let plan = BreakpointPlan(blocks: Self.blocks(stable: 1, messages: 40, unmarkable: [5]), stableEnd: 0, knowledge: k)
        #expect(plan.marks.map(\.block) == [0, 25, 40])
    }
}

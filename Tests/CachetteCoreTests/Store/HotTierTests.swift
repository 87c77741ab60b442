@testable import CachetteCore
import Foundation
import GRDB
import Logging
import NIOCore
import Testing

@Suite("Hot tier LRU")
struct HotTierTests {
    @Test("evicts the least recently used entry when over budget")
    func evicts() {
        let tier = HotTier(budget: 3 * (HotTier.entryOverhead + 10))
        for n in 1...3 { tier.insert(key(n), entry(String(repeating: "x", count: 10)).response) }
        _ = tier.entry(key(1), memoryOnly: true)
        tier.insert(key(4), entry(String(repeating: "x", count: 10)).response)
        #expect(tier.entry(key(2), memoryOnly: true) == nil)
        #expect(
            tier.entry(key(1), memoryOnly: true) != nil && tier.entry(key(3), memoryOnly: true) != nil && tier.entry(key(4), memoryOnly: true) != nil)
        #expect(tier.count == 3)
        #expect(!tier.insert(key(9), entry(String(repeating: "x", count: 10_000)).response))
        tier.remove(key(1))
        #expect(tier.count == 2)
    }
}

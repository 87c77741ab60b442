@testable import CachetteCore
import Foundation
import GRDB
import Logging
import NIOCore
import Testing

@Suite("Single flight")
struct SingleFlightTests {
    actor Counter {
        var value = 0
        func increment() -> Int {
            value += 1
            return value
        }
    }

    @Test("50 concurrent callers of one key share one execution")
    func coalesces() async throws {
        let flight = SingleFlight<Int, Int>()
        let counter = Counter()
        let results = try await withThrowingTaskGroup(of: (Int, SingleFlight<Int, Int>.Role).self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await flight.run(1) {
                        try await Task.sleep(for: .milliseconds(200))
                        return await counter.increment()
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(await counter.value == 1)
        #expect(results.allSatisfy { $0.0 == 1 })
        #expect(results.filter { if case .leader = $0.1 { true } else { false } }.count == 1)
        // The key was freed: a later call leads and runs again.
        let later = try await flight.run(1) { await counter.increment() }
        #expect(later.0 == 2)
        #expect({ if case .leader = later.1 { true } else { false } }())
    }

    struct Boom: Error {}

    @Test("an error reaches every waiter and the key is freed")
    func errors() async {
        let flight = SingleFlight<Int, Int>()
        await #expect(throws: Boom.self) { try await flight.run(1) { () async throws -> Int in throw Boom() } }
        let later = try? await flight.run(1) { 7 }
        #expect(later?.0 == 7, "the key was freed: the next call runs")
    }
}

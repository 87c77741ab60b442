@testable import CachetteCore
import Foundation
import NIOCore
import Testing
@testable import CachetteShared

@Suite("Shared tier sessions")
struct SharedSessionTests {
    @Test("the sidecar's sessions carry its startup parameters (application_name, and synchronous_commit off)")
    func sessionSettings() async throws {
        try await SharedPruningTests.withTier { _, database in
            let cluster = try await PostgresCluster.shared
            let sessions = try await cluster.sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'cachette'", database: database)
            #expect((Int(sessions) ?? 0) >= 1, "sent with synchronous_commit in the same startup packet")
        }
    }

    @Test("reads hold connections of their own (half the pool past the listener's and the writer's), dropped after a failed read and held again")
    func heldReadConnections() async throws {
        #expect([2, 3, 4, 8, 9].map(ReadConnections.count(poolSize:)) == [0, 0, 1, 3, 3])
        for poolSize in [2, 8] {
            try await SharedPruningTests.withTier(configure: { $0.poolSize = poolSize }) { tier, database in
                let cluster = try await PostgresCluster.shared
                let readers = ReadConnections.count(poolSize: poolSize)
                #expect(tier.readers.count == readers)
                try await eventually(within: .seconds(30)) { tier.readers.held == readers }
                // The listener (which connects on its own time) and the held connections stay
                // open, idle between queries.
                try await eventually(within: .seconds(30)) {
                    let open = try await cluster.sql(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'cachette'",
                        database: database)
                    return (Int(open) ?? 0) >= 1 + readers
                }
                let now = Date().timeIntervalSince1970
                tier.store(SharedPruningTests.key(1), SharedPruningTests.entry("held", created: now))
                await tier.flush()
                for _ in 0..<6 {
                    #expect(SharedPruningTests.text(await tier.fetch(SharedPruningTests.key(1), now: now, lead: false)) == "held")
                }
                // After a failed read they are closed; reads lease from the pool until they are held again.
                tier.readers.dropAll()
                #expect(tier.readers.held == 0)
                #expect(SharedPruningTests.text(await tier.fetch(SharedPruningTests.key(1), now: now, lead: false)) == "held")
                try await eventually(within: .seconds(30)) { tier.readers.held == readers }
                #expect(SharedPruningTests.text(await tier.fetch(SharedPruningTests.key(1), now: now, lead: false)) == "held")
            }
        }
    }
}

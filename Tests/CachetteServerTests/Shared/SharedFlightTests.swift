@testable import CachetteCore
import Foundation
import NIOCore
import Testing
@testable import CachetteShared

/// Flights across replicas, at the tier: who may claim a key another replica holds.
@Suite("Shared tier flights")
struct SharedFlightTests {
    static let key = CacheKey(high: 0xF11, low: 0x6E7)

    @Test("a flight held by a replica that stopped beating is taken over at once; a live leader's is waited for, up to the deadline")
    func liveness() async throws {
        // A long read timeout: on a loaded machine a claim that times out is a miss, which is not what this test is about.
        try await SharedPruningTests.withTier(configure: {
            $0.flightDeadline = .seconds(2)
            $0.timeout = .seconds(15)
        }) { tier, database in
            let cluster = try await PostgresCluster.shared
            let now = Date().timeIntervalSince1970
            let hex = Self.key.hex
            // A dead replica's flight: far from its deadline, no heartbeat for a minute.
            try await cluster.sql(
                """
                INSERT INTO cachette_replicas VALUES ('dead', \(now - 3600), \(now - 60));
                INSERT INTO cachette_flights VALUES (decode('\(hex)', 'hex'), 'dead', \(now + 600));
                """, database: database)
            #expect(await tier.fetch(Self.key, now: now, lead: true) == nil)
            #expect(try await cluster.sql("SELECT owner FROM cachette_flights", database: database) == tier.replica, "claimed")
            #expect(tier.status.counts.flightWaits == 0, "claimed at once: no wait for a dead leader")

            // A live replica's flight: waited for until this tier's own deadline (2 s), then called anyway.
            tier.release(Self.key)
            await tier.flush()
            // The release is batched, and a batch that timed out on a loaded machine goes
            // again with the next one: the row is gone once a batch has carried it.
            try await eventually(within: .seconds(30)) {
                try await cluster.sql("SELECT count(*) FROM cachette_flights", database: database) == "0"
            }
            try await cluster.sql(
                """
                INSERT INTO cachette_replicas VALUES ('alive', \(now), \(Date().timeIntervalSince1970));
                INSERT INTO cachette_flights VALUES (decode('\(hex)', 'hex'), 'alive', \(now + 600));
                """, database: database)
            let waited = ContinuousClock.now
            #expect(await tier.fetch(Self.key, now: Date().timeIntervalSince1970, lead: true) == nil)
            let took = ContinuousClock.now - waited
            #expect(took >= .milliseconds(1900) && took < .seconds(15), "\(took)")
            #expect(tier.status.counts.flightWaits == 1 && tier.status.counts.flightTimeouts == 1)
            #expect(try await cluster.sql("SELECT owner FROM cachette_flights", database: database) == "alive", "not taken from a live leader")

            // Offline readers (lead: false) neither claim nor wait.
            let quick = ContinuousClock.now
            #expect(await tier.fetch(Self.key, now: Date().timeIntervalSince1970, lead: false) == nil)
            #expect(ContinuousClock.now - quick < .seconds(1))
        }
    }

    /// Our lock, not another test's: the locks view spans the cluster's databases.
    static let flightsLocked = """
        SELECT count(*) FROM pg_locks WHERE relation = 'cachette_flights'::regclass AND mode = 'AccessExclusiveLock' AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """

    @Test("a claim whose answer came too late is still ours to release: no other replica waits out its deadline")
    func lateClaimReleased() async throws {
        try await SharedPruningTests.withTier(configure: {
            $0.flightDeadline = .seconds(600)
            $0.timeout = .milliseconds(300)
        }) { tier, database in
            let cluster = try await PostgresCluster.shared
            // The flights table locked for 3 s: the claim waits in PostgreSQL, past the read's deadline.
            let locked = Task {
                try await cluster.sql(session: ["BEGIN", "LOCK TABLE cachette_flights", "SELECT pg_sleep(3)", "COMMIT"], database: database)
            }
            try await eventually(within: .seconds(30)) {
                try await cluster.sql(Self.flightsLocked, database: database) != "0"
            }
            #expect(await tier.fetch(Self.key, now: Date().timeIntervalSince1970, lead: true) == nil)
            #expect(tier.status.counts.timeouts == 1)
            _ = try await locked.value
            // Here the wait was cancelled with the read. On a loaded machine the claim can
            // instead run and only its answer be late: the row as it then lands.
            try await cluster.sql(
                """
                INSERT INTO cachette_flights VALUES (decode('\(Self.key.hex)', 'hex'), '\(tier.replica)', \(Date().timeIntervalSince1970 + 600))
                ON CONFLICT DO NOTHING
                """, database: database)
            #expect(try await cluster.sql("SELECT owner FROM cachette_flights", database: database) == tier.replica)
            // The miss's answer could not be kept: the leader lets go of the key.
            tier.release(Self.key)
            await tier.flush()
            try await eventually(within: .seconds(30)) {
                try await cluster.sql("SELECT count(*) FROM cachette_flights", database: database) == "0"
            }
        }
    }

    @Test("a leader's stored answer wakes a waiting follower through NOTIFY, well before its deadline")
    func notifyWakes() async throws {
        try await SharedPruningTests.withTier(configure: { $0.flightDeadline = .seconds(20) }) { leader, database in
            let cluster = try await PostgresCluster.shared
            var options = SharedTierOptions(url: try SharedURL(cluster.url(database)))
            options.timeout = .seconds(5)
            let follower = PostgresTier(options: options, logger: .init(label: "test"))
            let running = Task { await follower.run() }
            defer { running.cancel() }
            try await eventually(within: .seconds(30)) { follower.status.state == .up }
            let now = Date().timeIntervalSince1970
            #expect(await leader.fetch(Self.key, now: now, lead: true) == nil, "the leader claims")
            let waiting = Task { await follower.fetch(Self.key, now: Date().timeIntervalSince1970, lead: true) }
            try await eventually { follower.status.counts.flightWaits == 1 }  // found the flight held, and waits
            leader.store(Self.key, SharedPruningTests.entry("the answer", created: now))
            let found = await waiting.value
            #expect(SharedPruningTests.text(found) == "the answer")
            // Heard, not timed: a loaded machine stretches any wait, and the deadline here is far away.
            try await eventually(within: .seconds(30)) { follower.announcements.load(ordering: .relaxed) >= 1 }
            #expect(follower.status.counts.flightWaits == 1 && follower.status.counts.hits == 1)
        }
    }
}

@testable import CachetteCore
import CachetteServer
import Foundation
import NIOCore
import Testing
@testable import CachetteShared

/// What PostgreSQL holds is any replica's writing, or anyone's with its password: rows
/// read back are outside input, and none of them may trap, grow without bound, or be
/// served unless a live answer could have been them.
extension HeavyPostgresTests {
    @Suite("Shared rows as outside input")
    struct SharedHostileRowTests {
        static let key = SharedPruningTests.key(28)

        /// A tier holding one good entry for `key`, whose row then has `assignments` applied.
        static func withDamagedRow(
            _ assignments: String, configure: (inout SharedTierOptions) -> Void = { _ in },
            _ body: (PostgresTier, _ database: String) async throws -> Void
        ) async throws {
            try await SharedPruningTests.withTier(configure: configure) { tier, database in
                let now = Date().timeIntervalSince1970
                tier.store(key, SharedPruningTests.entry("good", created: now))
                await tier.flush()
                #expect(SharedPruningTests.text(await tier.fetch(key, now: now, lead: false)) == "good", "the row reads before it is damaged")
                try await PostgresCluster.shared.sql("UPDATE cachette_entries SET \(assignments)", database: database)
                try await body(tier, database)
            }
        }

        @Test(
            "a row that no live answer could be is a miss, counted as an error, and removed",
            arguments: [
                "created_at = -1e300", "created_at = 'NaN'", "expires_at = 'Infinity', created_at = 'Infinity'",
                "content_type = 'text/html'", "body = (SELECT body FROM cachette_entries) || '\\x00'::bytea", "status = 302",
                "route = '/v1/embeddings'", "prompt_tokens = -1", "model = E'gpt\\x1b[31m'",
            ])
        func implausibleRow(assignment: String) async throws {
            try await Self.withDamagedRow(assignment) { tier, database in
                let errors = tier.status.counts.errors
                #expect(await tier.fetch(Self.key, now: Date().timeIntervalSince1970, lead: false) == nil)
                #expect(tier.status.counts.errors == errors + 1)
                #expect(tier.status.state == .up, "one bad row is not an outage")
                await tier.flush()
                let left = try await PostgresCluster.shared.sql("SELECT count(*) FROM cachette_entries", database: database)
                #expect(left == "0")
            }
        }

        @Test("a zstd frame that claims more than max_response_bytes is not decompressed: a few KB of row, a 256 MiB answer")
        func decompressionBomb() async throws {
            let spaces = [UInt8](repeating: UInt8(ascii: " "), count: 256 << 20)
            let bomb = try spaces.withUnsafeBytes { try Zstd.compress($0) }
            #expect(bomb.count < 16 << 10)
            let hex = bomb.map { String(format: "%02x", $0) }.joined()
            try await Self.withDamagedRow("body = decode('\(hex)', 'hex')", configure: { $0.check.maxBytes = 1 << 20 }) { tier, _ in
                #expect(await tier.fetch(Self.key, now: Date().timeIntervalSince1970, lead: false) == nil)
                #expect(tier.status.state == .up)
            }
        }

        @Test("a damaged row is removed before the fresh answer that replaces it is written, so the fresh one stays")
        func removalBeforeInsert() async throws {
            // Far from expiry: an insert alone would leave it in place (ON CONFLICT keeps a live entry).
            try await Self.withDamagedRow("content_type = 'text/html'") { tier, _ in
                let now = Date().timeIntervalSince1970
                #expect(await tier.fetch(Self.key, now: now, lead: true) == nil)
                tier.store(Self.key, SharedPruningTests.entry("fresh", created: now + 1))
                await tier.flush()
                #expect(SharedPruningTests.text(await tier.fetch(Self.key, now: now + 2, lead: false)) == "fresh")
            }
        }

        @Test("a flight whose live owner's deadline is 'Infinity' is waited for up to this replica's own deadline, then left: no trap")
        func infiniteDeadline() async throws {
            try await SharedPruningTests.withTier(configure: { $0.flightDeadline = .seconds(2) }) { tier, database in
                let now = Date().timeIntervalSince1970
                try await PostgresCluster.shared.sql(
                    """
                    INSERT INTO cachette_replicas VALUES ('alive', \(now), \(now + 3600));
                    INSERT INTO cachette_flights VALUES (decode('\(Self.key.hex)', 'hex'), 'alive', 'Infinity');
                    """, database: database)
                let started = ContinuousClock.now
                #expect(await tier.fetch(Self.key, now: now, lead: true) == nil)
                #expect(ContinuousClock.now - started >= .seconds(2), "waited for the live leader")
                #expect(tier.status.counts.flightTimeouts == 1)
            }
        }

        @Test("a read slower than shared.timeout is a miss, not an outage: the tier stays up until reads are late three times in a row")
        func slowReadIsAMiss() async throws {
            // A second: long enough that a read which is not blocked answers in time on a loaded CI machine.
            try await SharedPruningTests.withTier(configure: { $0.timeout = .seconds(1) }) { tier, database in
                let cluster = try await PostgresCluster.shared
                let key = Self.key
                // Another session holds the key's flight row: a claim of it waits on the row lock.
                let holder = Task {
                    try await cluster.sql(
                        "BEGIN; INSERT INTO cachette_flights VALUES (decode('\(key.hex)', 'hex'), 'other', 1e12); SELECT pg_sleep(60); ROLLBACK;",
                        database: database)
                }
                try await eventually {
                    try await cluster.sql("SELECT count(*) FROM pg_locks WHERE relation = 'cachette_flights'::regclass", database: database) != "0"
                }
                for attempt in 1...2 {
                    #expect(await tier.fetch(key, now: Date().timeIntervalSince1970, lead: true) == nil)
                    #expect(tier.status.counts.timeouts == attempt)
                    #expect(tier.status.state == .up, "one late read (\(attempt)) is a miss")
                }
                // A read that answers in time starts the count again. It waits for the held
                // connections the late reads closed: a new one from the pool can take longer
                // than the timeout on a loaded machine.
                try await eventually { tier.readers.held == tier.readers.count }
                let other = SharedPruningTests.key(99)
                #expect(await tier.fetch(other, now: Date().timeIntervalSince1970, lead: false) == nil)
                #expect(await tier.fetch(key, now: Date().timeIntervalSince1970, lead: true) == nil)
                #expect(tier.status.state == .up, "late twice, then in time, then late once")
                for _ in 0..<2 { _ = await tier.fetch(key, now: Date().timeIntervalSince1970, lead: true) }
                #expect(tier.status.state == .down, "three late reads in a row: down")
                _ = try await cluster.sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
                    database: database)
                _ = try? await holder.value
            }
        }

        @Test("/stats?scope=cluster saturates ledger sums that overflow, and holds negative and endless values to range")
        func clusterOverflow() async throws {
            let cluster = try await PostgresCluster.shared
            let url = cluster.url(try await cluster.createDatabase())
            try await Harness.runReplicas(1, configure: SharedTierTests.sharing(url)) { replicas in
                try await waitUntilUp(replicas)
                let now = Int(Date().timeIntervalSince1970)
                try await cluster.sql(
                    """
                    INSERT INTO cachette_ledger_buckets (second, replica, route, model, outcome, requests, prompt_tokens, completion_tokens,
                        cached_prompt_tokens, saved_compression_tokens, spent_usd, saved_usd, saved_compression_usd) VALUES
                      (\(now), 'r1', '/v1/chat/completions', 'a', 'hit', 9223372036854775000, 9223372036854775000, 0, 0, 0, 'Infinity', 1, 0),
                      (\(now), 'r1', '/v1/chat/completions', 'b', 'miss', 9223372036854775000, -5, 9223372036854775000, 0,
                       9223372036854775000, 'NaN', -1, 0)
                    """, database: dbName(url))
                let response = try await replicas[0].get("/stats?scope=cluster")
                #expect(response.status == .ok, "\(response.text)")
                let document = try JSONValue.parse(Array(response.text.utf8))
                #expect(document["requests"]?.intValue == Int.max)
                #expect(document["models"]?["b"]?["input_tokens"]?.intValue == 0)
                #expect(document["cost"]?["spent_usd"]?.doubleValue?.isFinite == true)
                #expect(try await replicas[0].get("/health").status == .ok, "still serving")
            }
        }
    }
}

@Suite("Shared tier reachability")
struct SharedReachabilityTests {
    @Test("nothing listening at shared.url is reported as a refused connection, not as no answer within the timeout")
    func refused() async throws {
        var options = SharedTierOptions(url: try SharedURL("postgres://cachette:sk-pg-secret@127.0.0.1:9/cache?sslmode=disable"))
        options.timeout = .milliseconds(300)
        let tier = PostgresTier(options: options, logger: .init(label: "test"))
        let running = Task { await tier.run() }
        defer { running.cancel() }
        try await eventually(within: .seconds(30)) { tier.status.state == .down && tier.status.lastError != nil }
        let error = tier.status.lastError ?? ""
        #expect(error.contains("connection refused at 127.0.0.1:9"), "\(error)")
        #expect(!error.contains("no answer within the timeout") && !error.contains("sk-pg-secret"), "\(error)")
    }
}

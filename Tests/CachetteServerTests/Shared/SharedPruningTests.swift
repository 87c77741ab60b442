import CachetteCore
import Foundation
import Logging
import NIOCore
import Testing
@testable import CachetteShared

/// The shared tier's TTL and byte budget, enforced by one replica at a time.
@Suite("Shared tier pruning")
struct SharedPruningTests {
    /// A running tier on a fresh database of the run's cluster.
    static func withTier(
        maxBytes: Int = 1 << 30, staleSeconds: Double = 0, configure: (inout SharedTierOptions) -> Void = { _ in },
        _ body: (PostgresTier, _ database: String) async throws -> Void
    ) async throws {
        let cluster = try await PostgresCluster.shared
        let database = try await cluster.createDatabase()
        var options = SharedTierOptions(url: try SharedURL(cluster.url(database)))
        options.maxBytes = maxBytes
        options.staleSeconds = staleSeconds
        options.timeout = .seconds(2)
        options.pruneInterval = .seconds(3600)  // the tests prune when they choose
        configure(&options)
        let tier = PostgresTier(options: options, logger: Logger(label: "test"))
        let running = Task { await tier.run() }
        defer { running.cancel() }
        try await eventually(within: .seconds(30)) { tier.status.state == .up }
        try await body(tier, database)
    }

    /// A chat completion whose message is `text`: shared rows are served only if a live answer could be them.
    static func entry(_ text: String, created: Double, ttl: Double = 3600) -> NewEntry {
        let answer: JSONValue = .object([
            .init("object", .string("chat.completion")),
            .init(
                "choices",
                .array([
                    .object([
                        .init("index", .int(0)), .init("message", .object([.init("role", .string("assistant")), .init("content", .string(text))])),
                    ])
                ])
            ),
        ])
        return NewEntry(
            route: "/v1/chat/completions", model: "gpt-4o",
            response: CachedResponse(
                status: 200, contentType: "application/json", body: ByteBuffer(bytes: answer.serialized()), createdAt: created,
                expiresAt: created + ttl, usage: TokenUsage(promptTokens: 3, completionTokens: 4)))
    }

    /// The message text of an entry made by `entry`.
    static func text(_ entry: NewEntry?) -> String? {
        entry.flatMap { try? JSONValue.parse($0.response.body.readableBytesView) }?["choices"]?.arrayValue?.first?["message"]?["content"]?
            .stringValue
    }

    static func key(_ i: Int) -> CacheKey { CacheKey(high: 0xC0FFEE, low: UInt64(i)) }

    /// Text zstd cannot shrink, so each entry's stored size is known to within a few bytes.
    static func incompressible(_ bytes: Int) -> String {
        String((0..<bytes).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
    }

    @Test("pruning keeps the most recently used entries within max_bytes, and removes what is past TTL and stale window")
    func budgetAndTTL() async throws {
        // About 1 KB stored per entry (zstd cannot shrink random text much): room for 5.
        try await Self.withTier(maxBytes: 5 * 1024 + 512, staleSeconds: 60) { tier, _ in
            let now = Date().timeIntervalSince1970
            for i in 0..<12 { tier.store(Self.key(i), Self.entry(Self.incompressible(1024), created: now - 100 + Double(i))) }
            // Expired 2 minutes ago, past its 60 s stale window: goes whatever the budget.
            tier.store(Self.key(99), Self.entry("old", created: now - 7200, ttl: 7080))
            // Expired 30 s ago, within its stale window: kept for stale-if-error, if the budget allows.
            tier.store(Self.key(98), Self.entry("stale", created: now - 3630, ttl: 3600))
            await tier.flush()
            #expect(try await tier.totals().entries == 14)
            // Key 0 was used last: it outranks the newer ones.
            tier.recordAccess(Self.key(0), now: now + 10)
            await tier.flush()
            let removed = try #require(try await tier.prune(now: now))
            let totals = try await tier.totals()
            #expect(totals.bytes <= 5 * 1024 + 512)
            #expect(removed == 14 - totals.entries)
            #expect(totals.entries >= 4)
            #expect(await tier.fetch(Self.key(0), now: now, lead: false) != nil, "recently used, kept")
            #expect(await tier.fetch(Self.key(11), now: now, lead: false) != nil, "newest, kept")
            #expect(await tier.fetch(Self.key(1), now: now, lead: false) == nil, "least recently used, pruned")
            #expect(tier.status.counts.pruneRuns == 1)
            #expect(tier.status.counts.pruned == removed)
        }
    }

    @Test("one pruner at a time: a run finds the lock held by another replica and skips")
    func oneAtATime() async throws {
        try await Self.withTier(maxBytes: 1) { tier, database in
            let now = Date().timeIntervalSince1970
            tier.store(Self.key(1), Self.entry("a", created: now))
            await tier.flush()
            let cluster = try await PostgresCluster.shared
            // Another replica's run, holding the lock until the test ends it (a busy machine
            // may take seconds to see the lock taken).
            let other = Task {
                try? await cluster.sql(
                    """
                    SET application_name = 'other-pruner'; BEGIN;
                    SELECT pg_advisory_xact_lock(\(Int64(0x5052_554E_0000_0001))); SELECT pg_sleep(300); COMMIT;
                    """, database: database)
            }
            try await eventually(within: .seconds(60)) {
                try await cluster.sql(
                    """
                    SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    """, database: database) == "1"
            }
            #expect(try await tier.prune(now: now) == nil, "skipped while another replica prunes")
            #expect(try await tier.totals().entries == 1)
            _ = try await cluster.sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'other-pruner'", database: database)
            _ = await other.value
            #expect(try await tier.prune(now: now) == 1)
            #expect(try await tier.totals().entries == 0)
        }
    }

    @Test("two replicas with a small budget: the shared tier stays within it")
    func replicasStayWithinBudget() async throws {
        let cluster = try await PostgresCluster.shared
        let url = cluster.url(try await cluster.createDatabase())
        let budget = 4 * 1024
        try await Harness.runReplicas(
            2,
            configure: SharedTierTests.sharing(url) { config, _ in
                config.shared.maxBytes = budget
                config.shared.pruneInterval = .milliseconds(300)
            }
        ) { replicas in
            try await waitUntilUp(replicas)
            for i in 0..<30 {
                let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"question \#(i)"}]}"#
                expectCache(try await replicas[i % 2].post("/v1/chat/completions", body), "MISS")
            }
            try await eventually {
                let bytes = Int(try await cluster.sql("SELECT coalesce(sum(stored_size), 0) FROM cachette_entries", database: dbName(url))) ?? -1
                return bytes > 0 && bytes <= budget
            }
            let runs = try await sharedCount(replicas[0], "prune_runs") + sharedCount(replicas[1], "prune_runs")
            #expect(runs > 0)
        }
    }
}

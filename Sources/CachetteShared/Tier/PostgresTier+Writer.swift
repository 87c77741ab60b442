import CachetteCore
import Foundation
import NIOCore
import PostgresNIO

extension PostgresTier {
    static let maxAttempts = 3

    /// Rows per INSERT: 16 binds each stays far below PostgreSQL's 65,535.
    static let rowsPerInsert = 256
    /// Seconds a finished flight's row is kept before another replica may claim the key.
    static let settleSeconds = 2.0

    package func store(_ key: CacheKey, _ entry: NewEntry) {
        let released = claims.withLock { $0.remove(key) != nil }
        let size = entry.response.size
        let queued = queue.withLock { q -> Bool in
            if released { q.stored[key] = 0 }
            guard q.bytes + size <= options.maxQueuedBytes else { return false }
            q.puts.append((key, entry, 0))
            q.bytes += size
            return true
        }
        if !queued { counters.droppedWrites.bump() }
        wake.yield()
    }

    package func release(_ key: CacheKey) {
        guard claims.withLock({ $0.remove(key) != nil }) else { return }
        queue.withLock { $0.abandoned[key] = 0 }
        wake.yield()
    }

    package func recordAccess(_ key: CacheKey, now: Double) {
        queue.withLock { q in
            // Bounded: a flood of distinct hits while PostgreSQL is away starts it over (the order is approximate anyway).
            if q.accesses.count >= 100_000 { q.accesses.removeAll(keepingCapacity: true) }
            q.accesses[key] = max(now, q.accesses[key] ?? 0)
        }
    }

    /// Sends a batch `batchWindow` after something is queued, and access times every few seconds.
    func runWriter() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(5))
                    self.wake.yield()
                }
            }
            for await _ in wakeups {
                if Task.isCancelled { break }
                try? await Task.sleep(for: options.batchWindow)
                if !isUp { await untilUp() }
                await flush()
            }
            group.cancelAll()
        }
    }

    /// Writes what is queued: removals; entries, the flights they end and their NOTIFYs
    /// in one transaction; then access times. A failed batch is counted and goes
    /// again with the next one, up to `maxAttempts` times in all.
    package func flush() async {
        // One batch at a time: a caller's flush returns after the writer's running one.
        _ = try? await flushGate.run { await self.flushLocked() }
    }

    private func flushLocked() async {
        let batch = queue.withLock { q in
            defer { q = WriteQueue() }
            return q
        }
        let now = Date().timeIntervalSince1970
        // Removals first: a damaged row's key is usually in this batch's puts too, with
        // the fresh answer meant to replace it, which must not go with it.
        if !batch.removals.isEmpty {
            let keys = batch.removals.map { ByteBuffer(bytes: $0.bytes) }
            do {
                try await withDeadline(writeTimeout, on: loop) { [self] in
                    try await client.query("DELETE FROM cachette_entries WHERE key = ANY(\(keys))", logger: logger)
                }
            } catch {
                counters.errors.bump()
            }
        }
        if !batch.puts.isEmpty || !batch.stored.isEmpty || !batch.abandoned.isEmpty {
            do {
                let rows = try encode(batch.puts, now: now)
                try await withDeadline(writeTimeout, on: loop) { [self] in try await write(rows, batch, now: now) }
                counters.writes.bump(rows.count)
            } catch {
                counters.errors.bump()
                retryLater(batch)
                markDown(error, doing: "writing")
            }
        }
        for write in batchWriters.withLock({ $0 }) { await write() }
        if !batch.accesses.isEmpty {
            let keys = batch.accesses.keys.map { ByteBuffer(bytes: $0.bytes) }
            let times = batch.accesses.values.map { $0 }
            do {
                try await withDeadline(writeTimeout, on: loop) { [self] in
                    try await client.query(
                        """
                        UPDATE cachette_entries AS e SET accessed_at = v.t
                        FROM unnest(\(keys)::bytea[], \(times)::float8[]) AS v(key, t)
                        WHERE e.key = v.key AND e.accessed_at < v.t
                        """, logger: logger)
                }
            } catch {
                counters.errors.bump()
            }
        }
    }

    /// Longest a background write may take before it counts as failed: a lease or a
    /// reply that never comes must not stop the writer.
    var writeTimeout: Duration { max(options.timeout, .seconds(5)) }

    /// One transaction: the entries, then the flights they finish or give up, then their NOTIFYs.
    private func write(_ rows: [Row], _ batch: WriteQueue, now: Double) async throws {
        try await client.withTransaction(logger: logger) { [self] connection in
            for chunk in stride(from: 0, to: rows.count, by: Self.rowsPerInsert) {
                try await connection.query(insert(rows[chunk..<min(chunk + Self.rowsPerInsert, rows.count)]), logger: logger)
            }
            // A finished flight's row stays a moment: a reader whose snapshot
            // predates this commit must wait for the NOTIFY, not claim the key.
            if !batch.stored.isEmpty {
                let keys = batch.stored.keys.map { ByteBuffer(bytes: $0.bytes) }
                try await connection.query(
                    """
                    UPDATE cachette_flights SET deadline = \(now + Self.settleSeconds)
                    WHERE key = ANY(\(keys)) AND owner = \(replica)
                    """, logger: logger)
            }
            if !batch.abandoned.isEmpty {
                let keys = batch.abandoned.keys.map { ByteBuffer(bytes: $0.bytes) }
                try await connection.query("DELETE FROM cachette_flights WHERE key = ANY(\(keys)) AND owner = \(replica)", logger: logger)
            }
            let announced = Set(batch.stored.keys).union(batch.abandoned.keys).map(\.hex)
            guard !announced.isEmpty else { return }
            // Delivered at commit, after the entries are visible.
            try await connection.query(
                "SELECT pg_notify(\(SharedSchema.flightChannel), k) FROM unnest(\(announced)::text[]) AS k", logger: logger)
        }
    }

    /// Puts a failed batch's entries and flights back, to go with the next batch once
    /// PostgreSQL is back: followers on other replicas wait for these flights.
    private func retryLater(_ batch: WriteQueue) {
        let dropped = queue.withLock { q -> Int in
            var dropped = 0
            for put in batch.puts {
                let size = put.entry.response.size
                guard put.attempts + 1 < Self.maxAttempts, q.bytes + size <= options.maxQueuedBytes else {
                    dropped += 1
                    continue
                }
                q.puts.append((put.key, put.entry, put.attempts + 1))
                q.bytes += size
            }
            for (key, attempts) in batch.stored where attempts + 1 < Self.maxAttempts { q.stored[key] = attempts + 1 }
            for (key, attempts) in batch.abandoned where attempts + 1 < Self.maxAttempts { q.abandoned[key] = attempts + 1 }
            return dropped
        }
        counters.droppedWrites.bump(dropped)
    }

    /// One row of `cachette_entries`, compressed.
    struct Row {
        var key: ByteBuffer
        var entry: NewEntry
        var body: ByteBuffer
        var events: ByteBuffer?
        var storedSize: Int
    }

    private func encode(_ puts: [(key: CacheKey, entry: NewEntry, attempts: Int)], now: Double) throws -> [Row] {
        var rows: [Row] = []
        var seen = Set<CacheKey>()
        // Newest first, so a key stored twice in one batch keeps its last answer.
        for (key, entry, _) in puts.reversed() where seen.insert(key).inserted {
            let body = ByteBuffer(bytes: try compressor.compress(entry.response.body))
            let events = try entry.response.events.map { ByteBuffer(bytes: try compressor.compress($0.encoded())) }
            let size = body.readableBytes + (events?.readableBytes ?? 0) + SharedSchema.rowOverhead
            rows.append(Row(key: ByteBuffer(bytes: key.bytes), entry: entry, body: body, events: events, storedSize: size))
        }
        return rows
    }

    /// A multi-row INSERT. A key already present keeps its entry unless that one is past
    /// its TTL: replicas racing on one answer store it once, and a stale entry is renewed.
    private func insert(_ rows: ArraySlice<Row>) throws -> PostgresQuery {
        var sql = """
            INSERT INTO cachette_entries (key, route, model, status, content_type, body, events, prompt_tokens, completion_tokens,
                cached_prompt_tokens, cache_write_prompt_tokens, created_at, expires_at, keep_until, accessed_at, stored_size) VALUES 
            """
        var binds = PostgresBindings(capacity: rows.count * 16)
        for (index, row) in rows.enumerated() {
            let first = index * 16
            sql += (index == 0 ? "(" : ", (") + (1...16).map { "$\(first + $0)" }.joined(separator: ", ") + ")"
            let response = row.entry.response
            binds.append(row.key)
            binds.append(row.entry.route)
            binds.append(row.entry.model)
            binds.append(response.status)
            binds.append(response.contentType)
            binds.append(row.body)
            binds.append(row.events)
            binds.append(response.usage.promptTokens)
            binds.append(response.usage.completionTokens)
            binds.append(response.usage.cachedPromptTokens)
            binds.append(response.usage.cacheWritePromptTokens)
            binds.append(response.createdAt)
            binds.append(response.expiresAt)
            binds.append(response.expiresAt + options.staleSeconds)
            binds.append(response.createdAt)
            binds.append(row.storedSize)
        }
        sql += """
             ON CONFLICT (key) DO UPDATE SET route = excluded.route, model = excluded.model, status = excluded.status,
                content_type = excluded.content_type, body = excluded.body, events = excluded.events,
                prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
                cached_prompt_tokens = excluded.cached_prompt_tokens, cache_write_prompt_tokens = excluded.cache_write_prompt_tokens,
                created_at = excluded.created_at, expires_at = excluded.expires_at, keep_until = excluded.keep_until,
                accessed_at = excluded.accessed_at, stored_size = excluded.stored_size
                WHERE cachette_entries.expires_at <= excluded.created_at
            """
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }
}

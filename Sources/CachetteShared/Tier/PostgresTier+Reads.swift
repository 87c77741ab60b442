import CachetteCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// Reads: one round trip for an entry or the key's flight, and the listener that
/// wakes a replica waiting on another's flight.
extension PostgresTier {
    enum Fetched {
        case found(NewEntry)
        /// This replica now leads the key's flight.
        case claimed
        /// Another replica leads it until `deadline` (Unix seconds; nil: unknown, ask again soon).
        case busy(deadline: Double?)
    }

    package func fetch(_ key: CacheKey, now: Double, lead: Bool) async -> NewEntry? {
        guard isUp else { return nil }
        let giveUp = ContinuousClock.now + options.flightDeadline
        var waited = false
        while true {
            let signal = signals.expect(key)
            defer { signals.forget(key, signal) }
            let fetched: Fetched
            let claiming = lead && ContinuousClock.now < giveUp
            do {
                let time = Date().timeIntervalSince1970
                fetched = try await withDeadline(options.timeout, on: loop) { [self] in
                    try await fetchOrClaim(key, now: time, claim: claiming)
                }
            } catch let damaged as DamagedEntry {
                // One bad row is a miss and goes; the tier itself is fine.
                counters.errors.bump()
                logger.warning("shared entry unreadable; treating it as a miss", metadata: ["key": "\(key)", "error": "\(damaged)"])
                queue.withLock { _ = $0.removals.insert(key) }
                wake.yield()
                return nil
            } catch is DeadlineExceeded {
                // A slow answer is a miss, not an outage: a loaded CPU (or one busy row) makes
                // single reads late, and going down for it would turn every replica's reads
                // into misses until the probe's backoff ends. Only reads late in a row are.
                counters.timeouts.bump()
                // The claim was sent and may still land: held as ours, so `release` takes it
                // back (only where we own it) instead of leaving others to wait out its deadline.
                if claiming { claims.withLock { _ = $0.insert(key) } }
                readers.dropAll()
                if lateReads.add(1, ordering: .relaxed).newValue >= Self.lateReadsBeforeDown {
                    markDown(DeadlineExceeded(), doing: "reading")
                }
                return nil
            } catch {
                counters.errors.bump()
                readers.dropAll()
                markDown(error, doing: "reading")
                return nil
            }
            lateReads.store(0, ordering: .relaxed)
            switch fetched {
            case .found(let entry):
                counters.hits.bump()
                return entry
            case .claimed:
                counters.misses.bump()
                claims.withLock { _ = $0.insert(key) }
                return nil
            case .busy(let deadline):
                guard lead else {
                    counters.misses.bump()
                    return nil
                }
                if !waited { counters.flightWaits.bump() }
                waited = true
                let left = giveUp - ContinuousClock.now
                guard left > .zero, isUp else {
                    counters.flightTimeouts.bump()
                    counters.misses.bump()
                    return nil
                }
                // The leader's NOTIFY ends the wait; the deadline, or a second, bounds it
                // in case the announcement was lost with a connection.
                // The deadline is the other replica's word: 'Infinity' or NaN must not trap.
                let untilDeadline = deadline.map {
                    Duration.clamped(seconds: $0 - Date().timeIntervalSince1970, upTo: .seconds(1)) + .milliseconds(1)
                }
                await signal.wait(upTo: min(left, untilDeadline ?? .milliseconds(50), .seconds(1)), on: loop)
            }
        }
    }

    /// Seconds without a heartbeat (every `heartbeatInterval`) after which a replica's
    /// flights are taken over: a leader that died is replaced before its deadline.
    static let leaderSilence = 30.0
    static let heartbeatInterval = Duration.seconds(10)

    /// One round trip: the fresh entry; else the flight claimed (inserted, or taken over
    /// from a leader past its deadline or silent for `leaderSilence`); else the current
    /// leader's deadline.
    func fetchOrClaim(_ key: CacheKey, now: Double, claim: Bool) async throws -> Fetched {
        let statement = FetchOrClaim(
            key: ByteBuffer(bytes: key.bytes), now: now, owner: replica, deadline: now + options.flightDeadline.seconds, claim: claim,
            heardSince: now - Self.leaderSilence)
        let rows =
            if let held = readers.next() {
                try await held.execute(statement, logger: logger)
            } else {
                try await client.execute(statement, logger: logger)
            }
        for try await row in rows {
            let cells = row.makeRandomAccess()
            guard cells.count == 14 else { throw DamagedEntry("expected 14 columns, got \(cells.count)") }
            if try cells[0].decode(Int.self) > 0 { return .claimed }
            if let route = try cells[2].decode(String?.self) {
                do {
                    return .found(try entry(route: route, cells, now: now))
                } catch let damaged as DamagedEntry {
                    throw damaged
                } catch {
                    throw DamagedEntry("\(error)")  // a column of another type
                }
            }
            return claim ? .busy(deadline: try cells[1].decode(Double?.self)) : .busy(deadline: nil)
        }
        throw DamagedEntry("no row")
    }

    /// The entry in a `fetchOrClaim` row. The database is shared, and what it holds is
    /// data, not trusted code: no frame grows past the largest answer, and the entry
    /// passes the check a live answer does (`EntryCheck`).
    private func entry(route: String, _ cells: PostgresRandomAccessRow, now: Double) throws -> NewEntry {
        let columns = StoredColumns(
            status: try cells[4].decode(Int.self), contentType: try cells[5].decode(String.self), createdAt: try cells[6].decode(Double.self),
            expiresAt: try cells[7].decode(Double.self),
            usage: TokenUsage(
                promptTokens: try cells[8].decode(Int.self), completionTokens: try cells[9].decode(Int.self),
                cachedPromptTokens: try cells[10].decode(Int.self), cacheWritePromptTokens: try cells[11].decode(Int.self)))
        let body = try cells[12].decode(ByteBuffer?.self)
        let events = try cells[13].decode(ByteBuffer?.self)
        let response = try body.withBytes { body in
            try events.withBytes { events in
                try columns.response(body: body, events: events, limit: options.check.maxBytes, decompressors: decompressors)
            }
        }
        switch options.check.checked(NewEntry(route: route, model: try cells[3].decode(String.self), response: response), now: now) {
        case .success(let entry): return entry
        case .failure(let problem): throw DamagedEntry(problem.description)
        }
    }
}

/// `fetchOrClaim`'s one round trip, prepared once per connection: planning this
/// statement costs more than running it.
struct FetchOrClaim: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static let sql = """
        WITH hit AS (
            SELECT route, model, status, content_type, created_at, expires_at, prompt_tokens, completion_tokens,
                   cached_prompt_tokens, cache_write_prompt_tokens, body, events
            FROM cachette_entries WHERE key = $1 AND expires_at > $2
        ), claim AS (
            INSERT INTO cachette_flights (key, owner, deadline)
            SELECT $1, $3, $4 WHERE $5 AND NOT EXISTS (SELECT 1 FROM hit)
            ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, deadline = excluded.deadline
                WHERE cachette_flights.deadline < $2 OR NOT EXISTS (
                    SELECT 1 FROM cachette_replicas WHERE replica = cachette_flights.owner AND seen_at > $6)
            RETURNING deadline
        )
        SELECT (SELECT count(*) FROM claim), (SELECT deadline FROM cachette_flights WHERE key = $1),
               hit.route, hit.model, hit.status, hit.content_type, hit.created_at, hit.expires_at, hit.prompt_tokens,
               hit.completion_tokens, hit.cached_prompt_tokens, hit.cache_write_prompt_tokens, hit.body, hit.events
        FROM (SELECT 1) AS one LEFT JOIN hit ON true
        """

    var key: ByteBuffer
    var now: Double
    var owner: String
    var deadline: Double
    var claim: Bool
    /// Leaders not heard from since then may be replaced.
    var heardSince: Double

    func makeBindings() throws -> PostgresBindings {
        var binds = PostgresBindings(capacity: 6)
        binds.append(key)
        binds.append(now)
        binds.append(owner)
        binds.append(deadline)
        binds.append(claim)
        binds.append(heardSince)
        return binds
    }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

extension PostgresTier {
    /// Listens for finished flights on one pooled connection, for as long as the tier
    /// runs; reconnects after a failure, waking every waiter meanwhile.
    func listen() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            if !isUp { await untilUp() }
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: SharedSchema.flightChannel) { notifications in
                        backoff = Backoff()
                        for try await notification in notifications {
                            if let key = CacheKey(hex: notification.payload) {
                                announcements.add(1, ordering: .relaxed)
                                signals.fire(key)
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                signals.fireAll()
                logger.debug("shared tier listener lost", metadata: ["error": "\(options.url.redact("\(error)"))"])
                try? await Task.sleep(for: backoff.next())
            }
        }
    }
}

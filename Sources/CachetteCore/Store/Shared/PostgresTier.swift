import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The shared tier on PostgreSQL (`shared:`): entries every replica reads and writes,
/// and the flights that keep N replicas' identical misses to one upstream call.
///
/// - A read is one round trip (`fetchOrClaim`): the fresh entry, or the key's flight
///   claimed for this replica, or the deadline of the replica that holds it. A follower
///   waits for the leader's NOTIFY (or the deadline), then asks again.
/// - Writes are queued and sent in batches, one transaction each: multi-row inserts,
///   the flights they finish, and their NOTIFYs (`PostgresTier+Writer`).
/// - One replica at a time enforces TTL and the byte budget (`PostgresTier+Pruner`).
/// - Down, slow or refusing, it is a miss: `state` goes down, a probe reconnects with
///   backoff, and no request waits longer than `timeout` for it.
public final class PostgresTier: SharedCacheTier, Sendable {
    public let options: SharedTierOptions
    /// This process, as flight owner and ledger replica: host, pid and a random suffix.
    public let replica: String
    let client: PostgresClient
    /// Connections the reads hold, off the pool.
    let readers: ReadConnections
    let logger: Logger
    let loop: any EventLoop
    let signals = FlightSignals()
    let counters = SharedCounters()
    let health = Mutex<(state: SharedStatus.State, lastError: String?)>((.starting, nil))
    /// Keys whose flight this replica holds.
    let claims = Mutex<Set<CacheKey>>([])
    let queue = Mutex(WriteQueue())
    let wake: AsyncStream<Void>.Continuation
    let wakeups: AsyncStream<Void>
    /// Only the writer uses it, one batch at a time.
    let compressor: ZstdCompressor
    /// Serialises batches.
    let flushGate = AsyncGate()
    let decompressors = ZstdDecompressors()
    /// Finished flights announced to this replica (NOTIFY), for tests: a waiter is woken by
    /// one, or by its one-second re-check.
    let announcements = Atomic<Int>(0)
    /// Reads in a row that passed `timeout`; at `lateReadsBeforeDown` the tier is down.
    let lateReads = Atomic<Int>(0)
    static let lateReadsBeforeDown = 3
    /// The loops waiting for the tier to come up, by ticket.
    let upWaiters = Mutex<(next: Int, waiting: [Int: CheckedContinuation<Void, Never>])>((0, [:]))

    public init(options: SharedTierOptions, eventLoopGroup: any EventLoopGroup = PostgresClient.defaultEventLoopGroup, logger: Logger) {
        self.options = options
        var logger = logger
        logger[metadataKey: "shared"] = "\(options.url.redacted)"
        self.logger = logger
        replica = "\(Self.hostName()):\(ProcessInfo.processInfo.processIdentifier):\(UInt32.random(in: 0 ... .max))"
        loop = eventLoopGroup.any()
        compressor = ZstdCompressor(level: options.compressionLevel)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        readers = ReadConnections(count: ReadConnections.count(poolSize: options.poolSize))
        client = PostgresClient(
            configuration: Self.configuration(options), eventLoopGroup: eventLoopGroup,
            backgroundLogger: Logger(label: "cachette.shared.pool", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// gethostname(2): Foundation's `hostName` may ask DNS, and block on it.
    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func configuration(_ options: SharedTierOptions) -> PostgresClient.Configuration {
        let url = options.url
        var tls = TLSConfiguration.makeClientConfiguration()
        if let root = url.rootCertificate { tls.trustRoots = .file(root) }
        let mode: PostgresClient.Configuration.TLS
        switch url.tls {
        case .disable: mode = .disable
        case .prefer:
            tls.certificateVerification = .none
            mode = .prefer(tls)
        case .require:
            tls.certificateVerification = .none
            mode = .require(tls)
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
            mode = .require(tls)
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            mode = .require(tls)
        }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: mode)
        configuration.options.maximumConnections = max(2, options.poolSize)
        configuration.options.minimumConnections = 1
        configuration.options.connectTimeout = max(options.timeout, .seconds(1))
        // A claim or an entry lost to a PostgreSQL crash costs one upstream call; waiting
        // for the WAL flush on every miss costs more.
        configuration.options.additionalStartupParameters = [("synchronous_commit", "off"), ("application_name", "cachette")]
        return configuration
    }

    public var status: SharedStatus {
        let (state, lastError) = health.withLock { $0 }
        return SharedStatus(state: state, lastError: lastError, counts: counters.snapshot)
    }

    var isUp: Bool { health.withLock { $0.state == .up } }

    // MARK: Running

    /// Connects, migrates, and runs the pool, the listener, the writer, the pruner and
    /// the probe until cancelled.
    public func run() async {
        // Detached: cancelling `run` must leave the pool up for the last batch, and so
        // must a graceful shutdown, which `PostgresClient.run` would otherwise inherit
        // (a task-local) and obey at once.
        let pool = Task.detached { await self.client.run() }
        await migrateWithBackoff()
        await withDiscardingTaskGroup { loops in
            loops.addTask {
                await self.listen()
            }
            for index in 0..<readers.count {
                loops.addTask {
                    await self.readers.hold(
                        index, from: self.client, waitUntilUp: { if !self.isUp { await self.untilUp() } },
                        redact: { [url = self.options.url] in url.redact($0) }, logger: self.logger)
                }
            }
            loops.addTask {
                await self.runWriter()
            }
            loops.addTask {
                await self.runPruner()
            }
            loops.addTask {
                await self.probe()
            }
        }
        if isUp {
            _ = try? await withDeadline(.seconds(5), on: loop) { await self.flush() }
        }
        pool.cancel()
        await pool.value
    }

    private func migrateWithBackoff() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            do {
                // Reachable first, quickly: a refused login or a dead host shows as down at once.
                try await withDeadline(max(options.timeout, .seconds(1)), on: loop) { [self] in
                    try await client.query("SELECT 1", logger: logger)
                }
                // Another replica may hold the migration lock for a while.
                try await withDeadline(.seconds(60), on: loop) { [self] in
                    try await SharedSchema.migrate(client, unlogged: options.unlogged, logger: logger)
                    try await heartbeat(started: true)
                }
                markUp()
                return
            } catch {
                markDown(error, doing: "connecting", reason: await unreachableReason(error))
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// While down, asks `SELECT 1` with growing pauses until PostgreSQL answers.
    private func probe() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            if isUp {
                backoff = Backoff()
                try? await Task.sleep(for: Self.heartbeatInterval)
                if isUp { _ = try? await withDeadline(writeTimeout, on: loop) { [self] in try await heartbeat(started: false) } }
                continue
            }
            try? await Task.sleep(for: backoff.next())
            do {
                try await withDeadline(max(options.timeout, .seconds(1)), on: loop) { [self] in
                    try await client.query("SELECT 1", logger: logger)
                }
                markUp()
            } catch {
                markDown(error, doing: "reconnecting", reason: await unreachableReason(error))
            }
        }
    }

    /// Records this replica as alive, for the cluster's replica count.
    func heartbeat(started: Bool) async throws {
        let now = Date().timeIntervalSince1970
        try await client.query(
            """
            INSERT INTO cachette_replicas (replica, started_at, seen_at) VALUES (\(replica), \(now), \(now))
            ON CONFLICT (replica) DO UPDATE SET seen_at = excluded.seen_at
            """, logger: logger)
    }

    func markUp() {
        let was = health.withLock { h -> SharedStatus.State in
            defer { h.state = .up }
            return h.state
        }
        guard was != .up else { return }
        lateReads.store(0, ordering: .relaxed)
        logger.info("shared tier is up")
        wake.yield()  // writes that waited for it
        let waiting = upWaiters.withLock { w in
            defer { w.waiting = [:] }
            return Array(w.waiting.values)
        }
        for waiter in waiting { waiter.resume() }
    }

    /// - Parameter reason: what a plain connection found, when it says more than the error.
    func markDown(_ error: any Error, doing what: String, reason: String? = nil) {
        let text = options.url.redact(reason ?? (error is DeadlineExceeded ? "no answer within the timeout" : "\(error)"))
        let was = health.withLock { h -> SharedStatus.State in
            defer { h = (.down, "\(what): \(text)") }
            return h.state
        }
        if was != .down { logger.warning("shared tier is down; serving from the local tiers", metadata: ["error": "\(what): \(text)"]) }
        // Nobody announces flights while it is down: waiters go their own way.
        signals.fireAll()
    }

    /// Why `SELECT 1` found no PostgreSQL, when a plain TCP connection can tell: the pool
    /// retries refused connections quietly, so the query only times out, which reads as
    /// a slow server when nothing is listening at all.
    func unreachableReason(_ error: any Error) async -> String? {
        guard error is DeadlineExceeded else { return nil }
        let (host, port) = (options.url.host, options.url.port)
        do {
            let channel = try await ClientBootstrap(group: loop).connectTimeout(.seconds(1)).connect(host: host, port: port).get()
            try? await channel.close()
            return nil  // something listens: slow indeed
        } catch let error as NIOConnectionError {
            if error.connectionErrors.isEmpty, error.dnsAError != nil || error.dnsAAAAError != nil { return "the name \(host) could not be resolved" }
            if error.connectionErrors.contains(where: { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }) {
                return "connection refused at \(host):\(port): is PostgreSQL running there?"
            }
            return "could not connect to \(host):\(port)"
        } catch let error as IOError where error.errnoCode == ECONNREFUSED {
            return "connection refused at \(host):\(port): is PostgreSQL running there?"
        } catch {
            return "could not connect to \(host):\(port)"
        }
    }

    /// Returns once the tier is up, or the task is cancelled (shutdown while down).
    func untilUp() async {
        let ticket = upWaiters.withLock { w in
            defer { w.next += 1 }
            return w.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = upWaiters.withLock { w -> Bool in
                    if Task.isCancelled || isUp { return true }
                    w.waiting[ticket] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            upWaiters.withLock { $0.waiting.removeValue(forKey: ticket) }?.resume()
        }
    }

    // MARK: Reads

    enum Fetched {
        case found(NewEntry)
        /// This replica now leads the key's flight.
        case claimed
        /// Another replica leads it until `deadline` (Unix seconds; nil: unknown, ask again soon).
        case busy(deadline: Double?)
    }

    public func fetch(_ key: CacheKey, now: Double, lead: Bool) async -> NewEntry? {
        guard isUp else { return nil }
        let giveUp = ContinuousClock.now + options.flightDeadline
        var waited = false
        while true {
            let signal = signals.expect(key)
            defer { signals.forget(key, signal) }
            let fetched: Fetched
            do {
                let time = Date().timeIntervalSince1970
                fetched = try await withDeadline(options.timeout, on: loop) { [self] in
                    try await fetchOrClaim(key, now: time, claim: lead && ContinuousClock.now < giveUp)
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

/// Pauses that double from 250 ms to 30 s.
struct Backoff {
    private var next_ = Duration.milliseconds(250)
    mutating func next() -> Duration {
        defer { next_ = min(next_ * 2, .seconds(30)) }
        return next_
    }
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

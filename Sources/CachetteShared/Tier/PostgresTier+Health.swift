import CachetteCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// Running the tier: connecting, migrating, and whether it is up; a tier that is down
/// is probed with backoff, and the loops that need it wait for it.
extension PostgresTier {
    /// Connects, migrates, and runs the pool, the listener, the writer, the pruner and
    /// the probe until cancelled.
    package func run() async {
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
}

/// Pauses that double from 250 ms to 30 s.
struct Backoff {
    private var next_ = Duration.milliseconds(250)
    mutating func next() -> Duration {
        defer { next_ = min(next_ * 2, .seconds(30)) }
        return next_
    }
}

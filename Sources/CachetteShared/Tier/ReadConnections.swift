import CachetteCore
import Logging
import PostgresNIO
import Synchronization

/// Pool connections held for the shared reads, each for as long as it lives. A read
/// that leases from the pool spends a third of its time on the lease (about 130 µs of
/// 420 µs on loopback, measured); a held connection takes queries from any number of
/// tasks at once and runs them in turn.
final class ReadConnections: Sendable {
    /// How many of `poolSize` connections reads hold: none below 4, so the listener and
    /// the writer always have theirs; then half of what is left.
    static func count(poolSize: Int) -> Int { max(0, (poolSize - 2) / 2) }

    private let slots: Mutex<[PostgresConnection?]>
    private let turn = Atomic<Int>(0)

    init(count: Int) {
        slots = Mutex(Array(repeating: nil, count: count))
    }

    var count: Int { slots.withLock { $0.count } }
    /// How many are held now.
    var held: Int { slots.withLock { $0.count { $0 != nil } } }

    /// A held connection, in turn; nil while none is (reads then lease from the pool).
    func next() -> PostgresConnection? {
        slots.withLock { slots in
            let held = slots.compactMap { $0 }
            guard !held.isEmpty else { return nil }
            return held[Int(turn.wrappingAdd(1, ordering: .relaxed).oldValue.magnitude % UInt(held.count))]
        }
    }

    /// Closes every held connection; their holders lease new ones. After a failed or
    /// timed-out read: a connection whose peer vanished without a word stays open for
    /// TCP's timeouts, and would fail every read sent to it until then.
    func dropAll() {
        let held = slots.withLock { slots in
            defer { slots = slots.map { _ in nil } }
            return slots.compactMap { $0 }
        }
        for connection in held { connection.close().whenComplete { _ in } }
    }

    /// Holds a connection of `client` in slot `index` until cancelled, leasing another
    /// after one closes. `waitUntilUp` runs before each lease; `redact` scrubs errors.
    func hold(
        _ index: Int, from client: PostgresClient, waitUntilUp: () async -> Void, redact: (String) -> String, logger: Logger
    ) async {
        var backoff = Backoff()
        while !Task.isCancelled {
            await waitUntilUp()
            do {
                try await client.withConnection { connection in
                    slots.withLock { $0[index] = connection }
                    defer { slots.withLock { $0[index] = nil } }
                    backoff = Backoff()
                    // Shutting down: closing the connection ends the wait.
                    try await withTaskCancellationHandler {
                        try await connection.closeFuture.get()
                    } onCancel: {
                        connection.close().whenComplete { _ in }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("shared tier read connection lost", metadata: ["error": "\(redact("\(error)"))"])
            }
            try? await Task.sleep(for: backoff.next())
        }
    }
}

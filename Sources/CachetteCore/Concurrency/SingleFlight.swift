import Synchronization

/// Collapses concurrent calls for one key into a single execution: the first caller
/// runs the work itself, later callers wait for its result.
///
/// The leader runs the work on its own task rather than a new one: a miss is the
/// common case, and a task per flight cost every miss a hop between threads. A leader
/// is cancelled only when the server shuts down, and then its followers share the
/// cancellation, as they would share any error.
package final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let inFlight = Mutex<[Key: Flight]>([:])

    public init() {}

    package enum Role: Sendable {
        case leader
        case follower
    }

    /// A value that is ready before the flight is over (a live stream) comes with
    /// `holdUntil`: callers arriving until it returns still join this flight.
    package typealias Work = @Sendable () async throws -> (Value, holdUntil: (@Sendable () async -> Void)?)

    /// One execution and the callers waiting for it.
    private final class Flight: Sendable {
        private enum State {
            case running(waiters: [CheckedContinuation<Value, any Error>])
            case done(Result<Value, any Error>)
        }
        private let state = Mutex(State.running(waiters: []))

        func wait() async throws -> Value {
            try await withCheckedThrowingContinuation { continuation in
                let ready = state.withLock { state -> Result<Value, any Error>? in
                    switch state {
                    case .running(var waiters):
                        waiters.append(continuation)
                        state = .running(waiters: waiters)
                        return nil
                    case .done(let result):
                        return result
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        }

        func finish(_ result: Result<Value, any Error>) {
            let waiters = state.withLock { state -> [CheckedContinuation<Value, any Error>] in
                guard case .running(let waiters) = state else { return [] }
                state = .done(result)
                return waiters
            }
            for waiter in waiters { waiter.resume(with: result) }
        }
    }

    package func run(_ key: Key, _ work: @escaping @Sendable () async throws -> Value) async throws -> (Value, Role) {
        try await run(key, holding: { (try await work(), nil) })
    }

    package func run(_ key: Key, holding work: @escaping Work) async throws -> (Value, Role) {
        let (flight, role) = inFlight.withLock { table -> (Flight, Role) in
            if let running = table[key] { return (running, .follower) }
            let flight = Flight()
            table[key] = flight
            return (flight, .leader)
        }
        guard role == .leader else { return (try await flight.wait(), .follower) }
        let value: Value, hold: (@Sendable () async -> Void)?
        do {
            (value, hold) = try await work()
        } catch {
            leave(key)
            flight.finish(.failure(error))
            throw error
        }
        flight.finish(.success(value))
        // Leave the table only once the work is done (and, for the cache, stored).
        if let hold {
            Task {
                await hold()
                self.leave(key)
            }
        } else {
            leave(key)
        }
        return (value, .leader)
    }

    private func leave(_ key: Key) {
        _ = inFlight.withLock { $0.removeValue(forKey: key) }
    }

}

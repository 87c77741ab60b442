import Synchronization

/// Collapses concurrent calls for one key into a single execution: the first caller
/// runs the work in its own task, later callers await that task's result.
/// The work outlives a caller that goes away, so the others still get their answer.
public final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let inFlight = Mutex<[Key: Task<Value, any Error>]>([:])

    public init() {}

    public enum Role: Sendable {
        case leader
        case follower
    }

    /// A value that is ready before the flight is over (a live stream) comes with
    /// `holdUntil`: callers arriving until it returns still join this flight.
    public typealias Work = @Sendable () async throws -> (Value, holdUntil: (@Sendable () async -> Void)?)

    public func run(_ key: Key, _ work: @escaping @Sendable () async throws -> Value) async throws -> (Value, Role) {
        try await run(key, holding: { (try await work(), nil) })
    }

    public func run(_ key: Key, holding work: @escaping Work) async throws -> (Value, Role) {
        let (task, role) = inFlight.withLock { table -> (Task<Value, any Error>, Role) in
            if let running = table[key] { return (running, .follower) }
            let task = Task<Value, any Error> {
                let value: Value, hold: (@Sendable () async -> Void)?
                do {
                    (value, hold) = try await work()
                } catch {
                    self.leave(key)
                    throw error
                }
                // Leave the table only once the work is done (and, for the cache, stored).
                if let hold {
                    Task {
                        await hold()
                        self.leave(key)
                    }
                } else {
                    self.leave(key)
                }
                return value
            }
            table[key] = task
            return (task, .leader)
        }
        return (try await task.value, role)
    }

    private func leave(_ key: Key) {
        _ = inFlight.withLock { $0.removeValue(forKey: key) }
    }

    public var count: Int { inFlight.withLock { $0.count } }
}

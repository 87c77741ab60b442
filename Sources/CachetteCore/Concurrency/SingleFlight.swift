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

    public func run(_ key: Key, _ work: @escaping @Sendable () async throws -> Value) async throws -> (Value, Role) {
        let (task, role) = inFlight.withLock { table -> (Task<Value, any Error>, Role) in
            if let running = table[key] { return (running, .follower) }
            let task = Task<Value, any Error> {
                // Leave the table only once the work is done (and, for the cache, stored).
                defer { _ = self.inFlight.withLock { $0.removeValue(forKey: key) } }
                return try await work()
            }
            table[key] = task
            return (task, .leader)
        }
        return (try await task.value, role)
    }

    public var count: Int { inFlight.withLock { $0.count } }
}

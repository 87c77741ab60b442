import NIOCore
import Synchronization

/// Thrown by `withDeadline` when the time is up.
package struct DeadlineExceeded: Error, CustomStringConvertible {
    public init() {}
    package var description: String { "timed out" }
}

/// `operation`'s result, or `DeadlineExceeded` once `limit` has passed, whichever comes
/// first. Unlike a task group, it does not wait for an operation that ignores
/// cancellation (a query already on the wire): that one is cancelled and left to finish
/// on its own. The timer is an event-loop task, not a sleeping Swift task.
@discardableResult
package func withDeadline<T: Sendable>(
    _ limit: Duration, on loop: any EventLoop, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let slot = OneShot<T>()
    return try await withCheckedThrowingContinuation { continuation in
        slot.arm(continuation)
        let work = Task {
            do {
                slot.resume(with: .success(try await operation()))
            } catch {
                slot.resume(with: .failure(error))
            }
        }
        let timer = loop.scheduleTask(in: .saturating(limit)) {
            if slot.resume(with: .failure(DeadlineExceeded())) { work.cancel() }
        }
        slot.onResume { timer.cancel() }
    }
}

/// A continuation resumed at most once, by whichever side gets there first.
private final class OneShot<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var cleanup: (@Sendable () -> Void)?
        var done = false
    }
    private let state = Mutex(State())

    func arm(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Runs `cleanup` once resumed (at once, if already).
    func onResume(_ cleanup: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.done { return true }
            s.cleanup = cleanup
            return false
        }
        if now { cleanup() }
    }

    /// True if this call resumed the continuation.
    @discardableResult
    func resume(with result: Result<T, any Error>) -> Bool {
        let taken = state.withLock { s -> (CheckedContinuation<T, any Error>, (@Sendable () -> Void)?)? in
            guard !s.done, let continuation = s.continuation else { return nil }
            s.done = true
            s.continuation = nil
            defer { s.cleanup = nil }
            return (continuation, s.cleanup)
        }
        guard let (continuation, cleanup) = taken else { return false }
        cleanup?()
        continuation.resume(with: result)
        return true
    }
}

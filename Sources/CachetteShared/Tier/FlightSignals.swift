import CachetteCore
import NIOCore
import Synchronization

/// Wakes the requests of this replica that wait for another replica's flight. The
/// listener fires a key when its leader announces the entry (or gives up); a waiter
/// registers before it asks PostgreSQL, so an announcement that lands between the
/// question and the wait is not lost.
final class FlightSignals: Sendable {
    private let waiting = Mutex<[CacheKey: [Signal]]>([:])

    func expect(_ key: CacheKey) -> Signal {
        let signal = Signal()
        waiting.withLock { $0[key, default: []].append(signal) }
        return signal
    }

    func forget(_ key: CacheKey, _ signal: Signal) {
        waiting.withLock { w in
            w[key]?.removeAll { $0 === signal }
            if w[key]?.isEmpty == true { w[key] = nil }
        }
    }

    func fire(_ key: CacheKey) {
        for signal in waiting.withLock({ $0.removeValue(forKey: key) }) ?? [] { signal.fire() }
    }

    /// The listener lost its connection: every waiter re-asks PostgreSQL.
    func fireAll() {
        for signal in waiting.withLock({ w in
            defer { w = [:] }; return w.values.flatMap { $0 }
        }) { signal.fire() }
    }

    final class Signal: Sendable {
        private let state = Mutex<(fired: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

        func fire() {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.fired = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume()
        }

        /// Returns when fired, or after `limit`.
        func wait(upTo limit: Duration, on loop: any EventLoop) async {
            let timer = loop.scheduleTask(in: .saturating(max(.zero, limit))) {
                self.fire()
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.fired { return true }
                    s.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
            timer.cancel()
        }
    }
}

import NIOCore
import Synchronization

/// The producer side: publishing events (waiting, within patience, for readers that fall behind) and finishing.
extension StreamBroadcast {
    /// Hands new events to every reader, then waits while a reader is `capacity` bytes
    /// behind. Readers that far behind that take nothing for `patience` are cut off.
    /// Returns at once when cancelled. Returns how many readers were cut off.
    @discardableResult
    package func publish(_ events: [StreamRecorder.Event], patience: Duration = .seconds(2)) async -> Int {
        guard !events.isEmpty else { return 0 }
        var wakeups: [(CheckedContinuation<Next, Never>, Next)] = []
        state.withLock { s in
            for event in events {
                s.head += event.bytes.readableBytes
                s.events.append(event)
                s.ends.append(s.head)
            }
            for (id, reader) in s.readers where reader.waiter != nil && !reader.cut {
                if let batch = s.take(id) {
                    wakeups.append((reader.waiter!, .events(batch)))
                    s.readers[id]!.waiter = nil
                }
            }
            s.trim()
        }
        for (waiter, next) in wakeups { waiter.resume(returning: next) }
        return await waitForReaders(patience: patience)
    }

    private func waitForReaders(patience: Duration) async -> Int {
        var cutCount = 0
        while state.withLock({ $0.mustWait(capacity) }), !Task.isCancelled {
            let wait = state.withLock { s in
                s.producerWait += 1
                return s.producerWait
            }
            let timer = Task { [weak self] in
                try await Task.sleep(for: patience)
                self?.expire(wait)
            }
            defer { timer.cancel() }
            _ = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let stored = state.withLock { s -> Bool in
                        // Checked under the lock the cancellation handler also takes, so a
                        // cancel either sees the stored continuation or stops it being stored.
                        guard s.mustWait(capacity), !Task.isCancelled, s.expiredWait != wait else { return false }
                        s.producer = continuation
                        return true
                    }
                    if !stored { continuation.resume(returning: true) }
                }
            } onCancel: {
                state.withLock { s -> CheckedContinuation<Bool, Never>? in
                    defer { s.producer = nil }
                    return s.producer
                }?.resume(returning: true)
            }
            // Woken by progress, or by the timer: either way, drop who has been stuck too long.
            let (count, waiters) = state.withLock { $0.cutStuck(capacity, patience: patience) }
            cutCount += count
            for waiter in waiters { waiter.resume(returning: .cut) }
        }
        return cutCount
    }

    /// Wait number `wait` ran out of patience: wake the producer, or tell it not to sleep.
    private func expire(_ wait: Int) {
        state.withLock { s -> CheckedContinuation<Bool, Never>? in
            guard s.producerWait == wait else { return nil }
            s.expiredWait = wait
            defer { s.producer = nil }
            return s.producer
        }?.resume(returning: false)
    }

    /// The recording was given up: stop keeping every event, and let nobody new join.
    package func stopRetaining() {
        let waiters = state.withLock { s in
            s.retainAll = false
            s.trim()
            defer { s.closeWaiters = [] }
            return s.closeWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The stream is over. Readers get what is left, then the trailer.
    package func finish(trailer: ByteBuffer? = nil) {
        let (readers, closers) = state.withLock { s in
            s.finished = true
            s.trailer = trailer
            var waiting: [CheckedContinuation<Next, Never>] = []
            for (id, reader) in s.readers {
                if let waiter = reader.waiter {
                    waiting.append(waiter)
                    s.readers[id] = nil
                }
            }
            defer { s.closeWaiters = [] }
            return (waiting, s.closeWaiters)
        }
        // A waiting reader had taken everything already.
        for reader in readers { reader.resume(returning: .end(trailer)) }
        for closer in closers { closer.resume() }
    }

    /// Returns once the stream has finished or stopped taking new readers.
    package func closedToJoiners() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.finished || !s.retainAll { return true }
                s.closeWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}

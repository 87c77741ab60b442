import NIOCore
import Synchronization

/// One live stream shared by every client reading it.
///
/// The producer publishes events as they arrive; each reader has its own position and
/// takes everything new in one batch, so a late joiner first gets the backlog and then
/// follows live. While the stream is being recorded every event is kept (the recording
/// needs them, and joiners start from the first). Memory stays bounded by `capacity`:
/// - the recording is given up (`stopRetaining`) before it outgrows the capacity, and
///   from then on events every reader has taken are dropped and nobody new may join;
/// - when a reader is `capacity` bytes behind, `publish` waits for it (backpressure,
///   which reaches the upstream through its connection);
/// - a reader that is that far behind and has taken nothing for `patience` is cut off,
///   so a stuck client holds the others back for that long at most, and never pins memory.
package final class StreamBroadcast: Sendable {
    package enum Next: Sendable {
        case events([ByteBuffer])
        /// The stream is over; the trailer (an error event) goes out last, if any.
        case end(ByteBuffer?)
        /// This reader fell too far behind and was dropped.
        case cut
    }

    package let capacity: Int
    let state: Mutex<State>

    public init(capacity: Int) {
        self.capacity = capacity
        state = Mutex(State())
    }

    struct Reader {
        var position: Int
        var includeUsage: Bool
        var waiter: CheckedContinuation<Next, Never>?
        var cut = false
        /// When it last took events (or joined).
        var lastTake = ContinuousClock.now
    }

    struct State {
        var events: [StreamRecorder.Event] = []
        /// Absolute byte offset at which each kept event ends.
        var ends: [Int] = []
        /// Absolute index and byte offset of `events[0]`.
        var base = 0
        var baseOffset = 0
        var head = 0
        var retainAll = true
        var finished = false
        var trailer: ByteBuffer?
        var readers: [Int: Reader] = [:]
        var nextID = 0
        var producer: CheckedContinuation<Bool, Never>?
        var producerWait = 0
        var expiredWait = -1
        var closeWaiters: [CheckedContinuation<Void, Never>] = []

        func offset(_ index: Int) -> Int {
            index <= base ? baseOffset : ends[index - base - 1]
        }

        var end: Int { base + events.count }

        func lag(_ reader: Reader) -> Int { head - offset(reader.position) }

        /// A reader is `capacity` behind: the producer should wait for it.
        func mustWait(_ capacity: Int) -> Bool {
            readers.values.contains { !$0.cut && lag($0) >= capacity }
        }

        /// Cuts the readers `capacity` behind that took nothing for `patience`; returns their waiters.
        mutating func cutStuck(_ capacity: Int, patience: Duration) -> (count: Int, waiters: [CheckedContinuation<Next, Never>]) {
            let now = ContinuousClock.now
            var count = 0
            var waiters: [CheckedContinuation<Next, Never>] = []
            for (id, reader) in readers where !reader.cut && lag(reader) >= capacity && now - reader.lastTake >= patience {
                count += 1
                readers[id]!.cut = true
                if let waiter = reader.waiter {
                    readers[id] = nil
                    waiters.append(waiter)
                }
            }
            trim()
            return (count, waiters)
        }

        mutating func take(_ id: Int) -> [ByteBuffer]? {
            guard var reader = readers[id], reader.position < end else { return nil }
            var batch: [ByteBuffer] = []
            batch.reserveCapacity(end - reader.position)
            for event in events[(reader.position - base)...] where reader.includeUsage || !event.isUsage {
                batch.append(event.bytes)
            }
            reader.position = end
            reader.lastTake = ContinuousClock.now
            readers[id] = reader
            return batch
        }

        /// Drops events every remaining reader has taken, once nothing needs them all.
        mutating func trim() {
            guard !retainAll else { return }
            let keepFrom = readers.values.lazy.filter { !$0.cut }.map(\.position).min() ?? end
            guard keepFrom > base else { return }
            let count = keepFrom - base
            baseOffset = ends[count - 1]
            events.removeFirst(count)
            ends.removeFirst(count)
            base = keepFrom
        }
    }

    // MARK: Readers

    /// A new reader starting from the first event, or nil once joining is closed.
    package func subscribe(includeUsage: Bool) -> Int? {
        state.withLock { s in
            guard s.retainAll else { return nil }
            let id = s.nextID
            s.nextID += 1
            s.readers[id] = Reader(position: 0, includeUsage: includeUsage)
            return id
        }
    }

    /// What reader `id` gets next: waits until there is something.
    package func next(_ id: Int) async -> Next {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Next, Never>) in
                let (ready, producer) = state.withLock { s -> (Next?, CheckedContinuation<Bool, Never>?) in
                    guard let reader = s.readers[id] else { return (.end(nil), nil) }
                    if reader.cut {
                        s.readers[id] = nil
                        return (.cut, nil)
                    }
                    if let batch = s.take(id) {
                        s.trim()
                        // Progress may let a waiting producer go on.
                        let producer = s.producer
                        s.producer = nil
                        return (.events(batch), producer)
                    }
                    if s.finished {
                        s.readers[id] = nil
                        return (.end(s.trailer), nil)
                    }
                    s.readers[id]!.waiter = continuation
                    return (nil, nil)
                }
                producer?.resume(returning: true)
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            leave(id)
        }
    }

    /// Reader `id` is gone (its client disconnected). Returns true when no reader is left.
    @discardableResult
    package func leave(_ id: Int) -> Bool {
        let (waiter, producer, empty) = state.withLock { s in
            let waiter = s.readers.removeValue(forKey: id)?.waiter
            s.trim()
            let producer = s.producer
            s.producer = nil
            return (waiter, producer, s.readers.isEmpty)
        }
        waiter?.resume(returning: .end(nil))
        producer?.resume(returning: true)
        return empty
    }

    package var readerCount: Int { state.withLock { $0.readers.count } }
}

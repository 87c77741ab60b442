import AsyncHTTPClient
import CachetteCore
import NIOCore
import NIOPosix
import Synchronization

/// `upstream.idle_timeout` for an answer's body. AsyncHTTPClient's read timeout also runs
/// while the response head is awaited, so it cannot be the shorter of the two limits
/// without cutting `upstream.timeout` short: each client's is the longer, and this
/// enforces the shorter on the body, counting only while a read is awaited (a slow
/// client holding the relay back is not the upstream's silence).
///
/// One timer per body, re-armed only when it fires: a chunk costs a clock read and two
/// atomic stores.
final class IdleWatchdog: Sendable {
    private let idle: TimeAmount
    private let loop: any EventLoop
    /// Uptime nanoseconds at which the pending read began; 0 while none is pending.
    private let waitingSince = Atomic<UInt64>(0)
    private let fired = Atomic<Bool>(false)
    private let state = Mutex<(timer: Scheduled<Void>?, stopped: Bool, onExpire: (@Sendable () -> Void)?)>((nil, false, nil))

    init(idle: Duration, on loop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()) {
        self.idle = .saturating(idle)
        self.loop = loop
    }

    /// The body fell silent for `idle` and `onExpire` ran.
    var expired: Bool { fired.load(ordering: .relaxed) }

    /// Arms the timer; `onExpire` cancels whatever reads the body.
    func start(onExpire: @escaping @Sendable () -> Void) {
        state.withLock { $0.onExpire = onExpire }
        schedule(at: .now() + idle)
    }

    func stop() {
        let timer = state.withLock { s in
            s.stopped = true
            s.onExpire = nil
            return s.timer
        }
        timer?.cancel()
    }

    func reading() { waitingSince.store(max(1, NIODeadline.now().uptimeNanoseconds), ordering: .relaxed) }
    func read() { waitingSince.store(0, ordering: .relaxed) }

    private func schedule(at deadline: NIODeadline) {
        let timer = loop.scheduleTask(deadline: deadline) { [self] in check() }
        let stopped = state.withLock { s in
            if !s.stopped { s.timer = timer }
            return s.stopped
        }
        if stopped { timer.cancel() }
    }

    private func check() {
        let since = waitingSince.load(ordering: .relaxed)
        let now = NIODeadline.now()
        guard since != 0 else { return schedule(at: now + idle) }
        let due = NIODeadline.uptimeNanoseconds(since) + idle
        guard now >= due else { return schedule(at: due) }
        let onExpire = state.withLock { s in
            defer { s.onExpire = nil }
            return s.stopped ? nil : s.onExpire
        }
        guard let onExpire else { return }
        fired.store(true, ordering: .relaxed)
        onExpire()
    }

    /// `operation` in a task of its own, cancelled if the body it reads through the
    /// watchdog falls silent for `idle`; then `HTTPClientError.readTimeout` is thrown, the
    /// error AsyncHTTPClient's own read timeout throws.
    static func run<T: Sendable>(idle: Duration, _ operation: @escaping @Sendable (IdleWatchdog) async throws -> T) async throws -> T {
        let watchdog = IdleWatchdog(idle: idle)
        let task = Task { try await operation(watchdog) }
        watchdog.start { task.cancel() }
        defer { watchdog.stop() }
        do {
            return try await withTaskCancellationHandler {
                try await task.value
            } onCancel: {
                task.cancel()
            }
        } catch {
            if watchdog.expired { throw HTTPClientError.readTimeout }
            throw error
        }
    }
}

/// An upstream body read through an `IdleWatchdog` (with none, as it is).
struct WatchedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let watchdog: IdleWatchdog?

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let watchdog: IdleWatchdog?

        mutating func next() async throws -> ByteBuffer? {
            watchdog?.reading()
            defer { watchdog?.read() }
            return try await base.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), watchdog: watchdog) }
}

/// An upstream body each of whose reads must answer within `idle`, for a body the
/// server's response writer reads (a passthrough answer): that task is not ours to
/// cancel, so each read runs in a task of its own that the timer can cancel. After a
/// read fails the writer stops, so no two reads ever overlap.
struct IdleLimitedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let idle: Duration

    /// Reads run one at a time, each awaited before the next begins.
    fileprivate final class Reader: @unchecked Sendable {
        var iterator: Base.AsyncIterator
        init(_ iterator: Base.AsyncIterator) { self.iterator = iterator }
        func next() async throws -> ByteBuffer? { try await iterator.next() }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let reader: Reader
        let idle: Duration
        let loop: any EventLoop

        func next() async throws -> ByteBuffer? {
            do {
                return try await withDeadline(idle, on: loop) { [reader] in try await reader.next() }
            } catch is DeadlineExceeded {
                throw HTTPClientError.readTimeout
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: Reader(base.makeAsyncIterator()), idle: idle, loop: MultiThreadedEventLoopGroup.singleton.any())
    }
}

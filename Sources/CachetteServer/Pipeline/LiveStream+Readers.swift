import CachetteCore
import Hummingbird
import NIOCore
import Synchronization

/// How each client reads a live stream: its response, from the first event or from
/// where it joined, and what its end books.
extension LiveStream {
    /// The response for one client reading from `reader`. `onEnd` gets the stream's end
    /// once the client has everything, or nil if it left (or was cut off) before the end.
    /// `head` is the outcome its `X-Cache` names: what the stream began as.
    func response(reader: Int, as head: RequestOutcome, key: CacheKey, onEnd: @escaping @Sendable (End?) -> Void = { _ in }) -> Response {
        var headers = self.headers
        headers[CachetteHeaders.xCache] = head.xCache
        headers[CachetteHeaders.key] = key.hex
        if reader == leaderReader && tokensSaved > 0 { headers[CachetteHeaders.tokensSaved] = String(tokensSaved) }
        let lease = ReaderLease { [self] in
            leave(reader)
            onEnd(nil)
        }
        let body = ResponseBody { [self] writer in
            lease.disarm()
            var finished = false
            do {
                reading: while true {
                    switch await broadcast.next(reader) {
                    case .events(let batch):
                        try await writer.write(contentsOf: batch)
                    case .end(let trailer):
                        // A reader cancelled mid-wait (shutdown) did not reach the end: no clean finish.
                        try Task.checkCancellation()
                        if let trailer { try await writer.write(trailer) }
                        finished = true
                        break reading
                    case .cut:
                        try await writer.write(event(Self.tooSlow))
                        break reading
                    }
                }
                try await writer.finish(nil)
            } catch {
                leave(reader)
                onEnd(nil)
                throw error
            }
            done(reader, delivered: finished)
            onEnd(finished ? end : nil)
        }
        return Response(status: status, headers: headers, body: body)
    }
}

/// Gives up a reader whose response was dropped unwritten, as when its client left
/// before the response head: Hummingbird then never runs the body, so the reader
/// would otherwise hold the stream back and keep it from counting as finished after
/// its clients left.
private final class ReaderLease: Sendable {
    private let release: Mutex<(@Sendable () -> Void)?>

    init(_ release: @escaping @Sendable () -> Void) {
        self.release = Mutex(release)
    }

    /// The body is being written: it gives the reader up itself.
    func disarm() {
        release.withLock { $0 = nil }
    }

    deinit {
        release.withLock { $0 }?()
    }
}

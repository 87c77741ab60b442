import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request does not arrive in time: from the connection's
/// opening, or a kept-alive connection's next head, to the end of the body. A client
/// that sends half a request and stalls holds nothing for longer than `timeout`.
/// (The wait for a next request on an idle connection is Hummingbird's `idleTimeout`.)
final class RequestReadTimeout: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let timeout: TimeAmount
    /// When the request being read began, or nil between requests.
    private var since: NIODeadline?
    /// One pending check per connection, moved on as requests end in time: scheduling and
    /// cancelling a timer per request cost a cache hit 5% of its instructions.
    private var check: Scheduled<Void>?

    init(timeout: Duration) {
        self.timeout = .saturating(timeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { begin(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelActive(context: ChannelHandlerContext) {
        begin(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: if since == nil { begin(context) }  // a first request keeps the time the connection opened
        case .body: break
        case .end: since = nil
        }
        context.fireChannelRead(data)
    }

    private func begin(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        since = now
        if check == nil { schedule(context, at: now + timeout) }
    }

    private func schedule(_ context: ChannelHandlerContext, at due: NIODeadline) {
        check = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
            check = nil
            guard let since else { return }  // between requests: the next head schedules again
            let due = since + timeout
            if due <= .now() {
                context.close(promise: nil)
            } else {
                schedule(context, at: due)
            }
        }
    }

    private func stop() {
        check?.cancel()
        check = nil
        since = nil
    }
}

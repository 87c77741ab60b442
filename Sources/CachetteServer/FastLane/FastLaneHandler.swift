import Hummingbird
import NIOCore
import NIOHTTPTypes

/// The fast lane in the connection's pipeline, after Hummingbird's connection state
/// handler and before its per-connection task: a memory-tier hit is read, looked up and
/// written on the event loop, with no task and no thread hop. Everything else is handed
/// on as it came, part by part.
final class FastLaneHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        case between
        case reading(HTTPRequest, ByteBuffer, arrived: ContinuousClock.Instant)
        case handingOn
    }

    private let lane: FastLane
    private var state = State.between
    /// Requests handed on whose responses have not ended. A pipelined request the lane
    /// could answer waits behind them, so answers leave in the order asked.
    private var handedOn = 0
    /// After a request the lane read but could not answer, the next `standAside`
    /// admitted requests go straight to the router; each such miss in a row doubles it
    /// (up to 64), and an answer resets it. A connection of misses then pays the lane's
    /// read and key about once in 64 requests, and a connection of hits never stands aside.
    private var standAside = 0
    private var nextStandAside = 1
    private var unflushed = false
    private var date = HTTPDate()

    init(lane: FastLane) {
        self.lane = lane
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (state, part) {
        case (.between, .head(let head)):
            guard lane.admits(head) else { return handOn(head, context: context) }
            guard handedOn == 0, standAside == 0 else {
                standAside = max(standAside - 1, 0)
                return handOn(head, context: context)
            }
            let expected = head.headerFields[.contentLength].flatMap { Int($0) } ?? 0
            state = .reading(head, context.channel.allocator.buffer(capacity: min(max(expected, 0), lane.maxBodyBytes)), arrived: .now)
        case (.reading(let head, var body, let arrived), .body(var chunk)):
            guard body.readableBytes + chunk.readableBytes <= lane.maxBodyBytes else {
                // Over the limit: the router reads it and answers 413.
                handOn(head, context: context)
                if body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
                return context.fireChannelRead(data)
            }
            state = .between  // so `body` is the only reference, and grows in place
            body.writeBuffer(&chunk)
            state = .reading(head, body, arrived: arrived)
        case (.reading(let head, let body, let arrived), .end(let trailers)):
            state = .between
            if let answer = lane.answer(head, body, arrived) {
                nextStandAside = 1
                return write(answer, context: context)
            }
            standAside = nextStandAside
            nextStandAside = min(nextStandAside * 2, 64)
            handOn(head, context: context)
            if body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
            context.fireChannelRead(wrapInboundOut(.end(trailers)))
            state = .between
        case (.reading(let head, let body, _), .head):
            // The codec never sends this; hand on what was read and what came.
            handOn(head, context: context)
            if body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
            state = .between
            channelRead(context: context, data: data)
        case (.handingOn, .end):
            state = .between
            context.fireChannelRead(data)
        case (.handingOn, _), (.between, _):
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Answers written in one read go out in one flush.
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), handedOn > 0 { handedOn -= 1 }
        context.write(data, promise: promise)
    }

    private func handOn(_ head: HTTPRequest, context: ChannelHandlerContext) {
        handedOn += 1
        state = .handingOn
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    private func write(_ answer: FastLane.Answer, context: ChannelHandlerContext) {
        var head = answer.head
        head.headerFields[.contentLength] = String(answer.body.reduce(0) { $0 + $1.readableBytes })
        head.headerFields[.date] = date.now()
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        for buffer in answer.body where buffer.readableBytes > 0 { context.write(wrapOutboundOut(.body(buffer)), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        unflushed = true
    }
}

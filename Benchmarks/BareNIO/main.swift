import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The floor under the fast lane: SwiftNIO's HTTP/1 server with nothing above it, every
/// request answered on its connection's event loop without a task. `make bench` measures
/// what the lane's design could reach at best, and which library sets each floor.
/// Usage: BareNIO PORT UPSTREAM_PORT MODE ANSWER_FILE, where MODE is
/// - `static`: read the body, write ANSWER_FILE's bytes (the hit's floor);
/// - `ahc`: relay to the upstream through AsyncHTTPClient's delegate API, the call and
///   every callback on the connection's loop (the miss design at its best);
/// - `nio`: relay through a kept-alive NIOHTTP1 client connection opened on the same loop
///   (what a proxy on SwiftNIO costs without AsyncHTTPClient: nginx's `proxy_pass` shape).
/// What every connection's handler is told at start.
struct Setup: Sendable {
    let upstreamPort: Int
    let mode: String
    let answer: ByteBuffer
    let client: HTTPClient
}
let arguments = CommandLine.arguments
guard arguments.count == 5, let port = Int(arguments[1]), let upstreamPort = Int(arguments[2]),
    ["static", "ahc", "nio"].contains(arguments[3]), let answer = FileManager.default.contents(atPath: arguments[4])
else {
    print("usage: BareNIO PORT UPSTREAM_PORT static|ahc|nio ANSWER_FILE")
    exit(2)
}
// Tracing off, as in the sidecar: the floor is what the libraries must cost.
let setup = Setup(
    upstreamPort: upstreamPort, mode: arguments[3], answer: ByteBuffer(bytes: answer),
    client: {
        var configuration = HTTPClient.Configuration()
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }())

/// The upstream's head as the client is sent it: status, and the two headers a relay keeps.
func relayedHead(_ head: HTTPResponseHead) -> HTTPResponseHead {
    var headers = HTTPHeaders()
    for name in ["content-type", "content-length"] {
        if let value = head.headers.first(name: name) { headers.add(name: name, value: value) }
    }
    return HTTPResponseHead(version: .http1_1, status: head.status, headers: headers)
}

/// Relays AsyncHTTPClient's callbacks, which run on the inbound connection's loop, to it.
final class Relay: HTTPClientResponseDelegate {
    typealias Response = Void
    let context: NIOLoopBound<ChannelHandlerContext>
    init(_ context: ChannelHandlerContext) { self.context = NIOLoopBound(context, eventLoop: context.eventLoop) }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        context.value.writeAndFlush(NIOAny(HTTPServerResponsePart.head(relayedHead(head))))
    }
    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        context.value.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))))
    }
    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        context.value.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
    }
    func didReceiveError(task: HTTPClient.Task<Void>, _ error: Error) { context.value.close(promise: nil) }
}

/// The upstream side of `nio` mode: each answer part goes to the inbound connection as it comes.
final class Back: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let front: ChannelHandlerContext
    init(front: ChannelHandlerContext) { self.front = front }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        // The head goes at once: a stream's first byte must not wait for the read loop's end.
        case .head(let head): front.writeAndFlush(NIOAny(HTTPServerResponsePart.head(relayedHead(head))), promise: nil)
        case .body(let body): front.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
        case .end: front.write(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
        }
    }
    func channelReadComplete(context: ChannelHandlerContext) { front.flush() }
    func channelInactive(context: ChannelHandlerContext) { front.close(promise: nil) }
}

final class Front: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var upstream: Channel?
    private let setup: Setup
    init(_ setup: Setup) { self.setup = setup }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var part): body.writeBuffer(&part)
        case .end:
            guard let head else { return }
            switch setup.mode {
            case "static": answerStatic(context)
            case "ahc": relayThroughClient(context, head)
            default: relayThroughChannel(context, head)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) { upstream?.close(promise: nil) }

    private func answerStatic(_ context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(setup.answer.readableBytes))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(setup.answer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func relayThroughClient(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        do {
            var request = try HTTPClient.Request(url: "http://127.0.0.1:\(setup.upstreamPort)\(head.uri)", method: .POST)
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .byteBuffer(body)
            _ = setup.client.execute(request: request, delegate: Relay(context), eventLoop: .delegateAndChannel(on: context.eventLoop))
        } catch {
            context.close(promise: nil)
        }
    }

    private func relayThroughChannel(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        var outgoing = HTTPRequestHead(version: .http1_1, method: .POST, uri: head.uri)
        outgoing.headers.add(name: "host", value: "127.0.0.1:\(setup.upstreamPort)")
        outgoing.headers.add(name: "content-type", value: "application/json")
        outgoing.headers.add(name: "content-length", value: String(body.readableBytes))
        let body = self.body
        let request = outgoing
        @Sendable func send(_ channel: Channel) {
            channel.write(HTTPClientRequestPart.head(request), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        if let upstream {
            send(upstream)
            return
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(Back(front: loopBound.value.1))
                }
            }
            .connect(host: "127.0.0.1", port: setup.upstreamPort)
            .whenComplete { result in
                let (front, context) = loopBound.value
                switch result {
                case .success(let channel):
                    front.upstream = channel
                    send(channel)
                case .failure: context.close(promise: nil)
                }
            }
    }
}

let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(Front(setup))
        }
    }
    .bind(host: "127.0.0.1", port: port).get()
try await server.closeFuture.get()

import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1 channel with the fast lane inserted right after its connection
/// state handler, so idle timeouts, quiescing and `Connection: close` still count the
/// lane's requests and answers. Hummingbird's `additionalChannelHandlers` sit before
/// that handler, where the lane's answers would go uncounted.
struct FastLaneChannel: ServerChildChannel {
    let http1: HTTP1Channel
    let lane: FastLane

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        http1.setup(channel: channel, logger: logger).flatMapThrowing { [lane] value in
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(FastLaneHandler(lane: lane), position: .after(pipeline.handler(type: HTTPConnectionStateHandler.self)))
            return value
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1, with the fast lane in front of the router when there is one.
    static func http1(configuration: HTTP1Channel.Configuration, fastLane: FastLane?) -> HTTPServerBuilder {
        guard let fastLane else { return .http1(configuration: configuration) }
        return .init { responder in FastLaneChannel(http1: HTTP1Channel(responder: responder, configuration: configuration), lane: fastLane) }
    }
}

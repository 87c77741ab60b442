import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

@testable import CachetteServer

/// The handler in a real NIO pipeline (an `EmbeddedChannel`): what it answers itself,
/// what it hands on to the router, and in what order.
@Suite("The fast lane's channel handler")
struct FastLaneHandlerTests {
    static let answerBody = #"{"answer":"from memory"}"#

    /// Admits POSTs to /hit and /miss; answers /hit whose body is `{"n":1}`.
    static func lane(maxBodyBytes: Int = 64) -> FastLane {
        FastLane(
            maxBodyBytes: maxBodyBytes,
            admits: { head in head.method == .post && (head.path == "/hit" || head.path == "/miss") },
            answer: { head, body, _ in
                guard head.path == "/hit", String(buffer: body) == #"{"n":1}"# else { return nil }
                return (HTTPResponse(status: .ok, headerFields: [.contentType: "application/json"]), [ByteBuffer(string: answerBody)])
            })
    }

    static func channel(_ lane: FastLane = lane()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FastLaneHandler(lane: lane))
        return channel
    }

    static func send(_ channel: EmbeddedChannel, _ path: String, method: HTTPRequest.Method = .post, body: [String]) throws {
        try channel.writeInbound(HTTPRequestPart.head(HTTPRequest(method: method, scheme: nil, authority: "127.0.0.1", path: path)))
        for chunk in body { try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: chunk))) }
        try channel.writeInbound(HTTPRequestPart.end(nil))
    }

    /// What reached the router, as text: `head PATH`, `body TEXT`, `end`.
    static func handedOn(_ channel: EmbeddedChannel) throws -> [String] {
        var parts: [String] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) {
            switch part {
            case .head(let head): parts.append("head \(head.path ?? "")")
            case .body(let body): parts.append("body \(String(buffer: body))")
            case .end: parts.append("end")
            }
        }
        return parts
    }

    /// What the lane wrote, as text.
    static func written(_ channel: EmbeddedChannel) throws -> [String] {
        var parts: [String] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
            switch part {
            case .head(let head):
                parts.append("head \(head.status.code) length \(head.headerFields[.contentLength] ?? "-") date \(head.headerFields[.date] != nil)")
            case .body(let body): parts.append("body \(String(buffer: body))")
            case .end: parts.append("end")
            }
        }
        return parts
    }

    static func routerAnswers(_ channel: EmbeddedChannel) throws {
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
    }

    @Test("a hit is answered on the loop, with its length and a Date, and the router never sees it")
    func answersAHit() throws {
        let channel = try Self.channel()
        try Self.send(channel, "/hit", body: [#"{"n""#, ":1}"])
        #expect(try Self.handedOn(channel).isEmpty)
        #expect(try Self.written(channel) == ["head 200 length \(Self.answerBody.utf8.count) date true", "body \(Self.answerBody)", "end"])
    }

    @Test("a request the lane reads but cannot answer reaches the router whole, its body in one part")
    func handsOnAMiss() throws {
        let channel = try Self.channel()
        try Self.send(channel, "/miss", body: [#"{"n""#, ":1}"])
        #expect(try Self.handedOn(channel) == ["head /miss", #"body {"n":1}"#, "end"])
        #expect(try Self.written(channel).isEmpty)
    }

    @Test("a request the lane does not admit is handed on part by part, untouched")
    func handsOnOthers() throws {
        let channel = try Self.channel()
        try Self.send(channel, "/hit", method: .get, body: ["a", "b"])
        #expect(try Self.handedOn(channel) == ["head /hit", "body a", "body b", "end"])
        #expect(try Self.written(channel).isEmpty)
    }

    @Test("a body over the limit is handed on, what was read first, so the router refuses it")
    func handsOnOversizedBodies() throws {
        let channel = try Self.channel(Self.lane(maxBodyBytes: 8))
        try Self.send(channel, "/hit", body: ["12345", "67890", "x"])
        #expect(try Self.handedOn(channel) == ["head /hit", "body 12345", "body 67890", "body x", "end"])
        #expect(try Self.written(channel).isEmpty)
    }

    @Test("pipelined: a hit behind a request the router holds waits for the router's answer, so answers keep their order")
    func keepsPipelinedOrder() throws {
        let channel = try Self.channel()
        try Self.send(channel, "/hit", method: .get, body: [])
        try Self.send(channel, "/hit", body: [#"{"n":1}"#])
        #expect(try Self.handedOn(channel) == ["head /hit", "end", "head /hit", #"body {"n":1}"#, "end"])
        try Self.routerAnswers(channel)
        try Self.routerAnswers(channel)
        _ = try Self.written(channel)
        // Both answered: the lane answers again.
        try Self.send(channel, "/hit", body: [#"{"n":1}"#])
        #expect(try Self.handedOn(channel).isEmpty)
        #expect(try Self.written(channel).count == 3)
    }

    @Test("after a miss the lane stands aside for the next request, twice as long for each miss in a row, until it answers")
    func standsAsideAfterMisses() throws {
        let channel = try Self.channel()
        /// Sends a request and says who took it.
        func taker(_ path: String) throws -> String {
            try Self.send(channel, path, body: [#"{"n":1}"#])
            if try Self.written(channel).isEmpty {
                _ = try Self.handedOn(channel)
                try Self.routerAnswers(channel)
                _ = try Self.written(channel)
                return "router"
            }
            return "lane"
        }
        #expect(try taker("/hit") == "lane")
        #expect(try taker("/miss") == "router")  // read by the lane, handed on
        #expect(try taker("/hit") == "router")  // standing aside: 1
        #expect(try taker("/miss") == "router")  // read again, a second miss in a row
        #expect(try taker("/hit") == "router")  // standing aside: 2
        #expect(try taker("/hit") == "router")
        #expect(try taker("/hit") == "lane")  // answered: back to 1
        #expect(try taker("/miss") == "router")
        #expect(try taker("/hit") == "router")
        #expect(try taker("/hit") == "lane")
    }
}

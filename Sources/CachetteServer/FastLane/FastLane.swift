import Hummingbird
import Logging
import Prometheus
import NIOCore

/// What the fast lane serves: a POST to a cached route that the browser guard hands on
/// untouched, answered when it is a fresh memory-tier hit. Everything else, and every
/// request the lane reads but cannot answer, goes on to the router unchanged.
struct FastLane: Sendable {
    typealias Answer = (head: HTTPResponse, body: [ByteBuffer])

    /// The longest body the lane reads before it hands the request on (`server.max_body_bytes`).
    let maxBodyBytes: Int
    /// Whether the lane reads this request's body to look it up.
    let admits: @Sendable (HTTPRequest) -> Bool
    /// The answer to a request whose body is read, or nil (nothing booked) to hand it on.
    let answer: @Sendable (HTTPRequest, ByteBuffer, ContinuousClock.Instant) -> Answer?

    init(
        maxBodyBytes: Int, admits: @escaping @Sendable (HTTPRequest) -> Bool,
        answer: @escaping @Sendable (HTTPRequest, ByteBuffer, ContinuousClock.Instant) -> Answer?
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.admits = admits
        self.answer = answer
    }

    /// The lane in front of the cached routes' endpoints, behind the same browser guard.
    /// - Parameter answered: counts the lane's answers.
    init(
        endpoints: [CachedEndpoint], browserGuard: BrowserGuard<some RequestContext>, maxBodyBytes: Int, answered: Counter, logger: Logger
    ) {
        let byPath = Dictionary(endpoints.map { ($0.route.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.init(
            maxBodyBytes: maxBodyBytes,
            admits: { head in
                guard head.method == .post, let path = head.path, byPath[path] != nil else { return false }
                // Closing after the answer, `100-continue` and an announced oversized body are the router's.
                if let connection = head.headerFields[.connection], connection.lowercased().contains("close") { return false }
                if head.headerFields[.expect] != nil { return false }
                if let length = head.headerFields[.contentLength], (Int(length) ?? .max) > maxBodyBytes { return false }
                return browserGuard.handsOnUntouched(head)
            },
            answer: { head, body, arrived in
                guard let path = head.path, let endpoint = byPath[path] else { return nil }
                let answer = endpoint.memoryHit(head, body: body, arrived: arrived, logger: logger)
                if answer != nil { answered.increment() }
                return answer
            })
    }
}

import CachetteCore
import Hummingbird
import NIOCore

/// The respond stage: a stored entry or an upstream answer as the client asked for it,
/// whole or, for `stream: true`, as events in the route's format.
enum AnswerResponse {
    /// A stored answer: as stored, or as a stream for `stream: true` (the recorded
    /// events when it was streamed, else events made from the answer).
    /// - Parameter tier: where a hit came from (`x-cachette-tier`); nil for a stale answer.
    static func stored(_ entry: CachedResponse, for request: ProxyRequest, now: Double, as outcome: RequestOutcome = .hit, tier: StoreTier? = nil)
        -> Response
    {
        let (head, body) = storedParts(entry, for: request, now: now, as: outcome, tier: tier)
        // One buffer goes out with its length, so head and body leave in one write.
        return Response(status: head.status, headers: head.headerFields, body: body.count == 1 ? .init(byteBuffer: body[0]) : .init(contentsOf: body))
    }

    /// `stored`'s head and body; the fast lane writes them itself, on the event loop.
    static func storedParts(
        _ entry: CachedResponse, for request: ProxyRequest, now: Double, as outcome: RequestOutcome = .hit, tier: StoreTier? = nil
    ) -> (head: HTTPResponse, body: [ByteBuffer]) {
        var headers = HTTPFields()
        headers.reserveCapacity(6)
        headers[CachetteHeaders.xCache] = outcome.xCache
        headers[CachetteHeaders.key] = request.key.hex
        if let tier { headers[CachetteHeaders.tier] = tier.rawValue }
        headers[.age] = String(entry.age(at: now))
        let status = HTTPResponse.Status(code: entry.status)
        guard request.stream else {
            headers[.contentType] = entry.contentType
            return (HTTPResponse(status: status, headerFields: headers), [entry.body])
        }
        if let events = entry.events {
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            // One buffer; the SSE event boundaries are the recorded ones.
            return (HTTPResponse(status: status, headerFields: headers), [events.replay(includeUsage: request.keyed.includeUsage)])
        }
        guard let events = synthesizedEvents(from: entry.body, for: request) else {
            // Not a completion (nothing to stream): the answer as it was stored.
            headers[.contentType] = entry.contentType
            return (HTTPResponse(status: status, headerFields: headers), [entry.body])
        }
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return (HTTPResponse(status: status, headerFields: headers), events)
    }

    /// An upstream answer as it came, or, for a streaming request that got a whole 2xx
    /// answer (from a non-streaming flight it joined), as events.
    static func upstream(_ answer: UpstreamAnswer, for request: ProxyRequest, as outcome: RequestOutcome) -> Response {
        var headers = answer.headers
        headers[CachetteHeaders.xCache] = outcome.xCache
        headers[CachetteHeaders.key] = request.key.hex
        if request.stream, answer.isSuccess, let events = synthesizedEvents(from: answer.body, for: request) {
            headers[.contentType] = "text/event-stream"
            headers[.contentLength] = nil
            headers[.cacheControl] = "no-cache"
            return Response(status: answer.status, headers: headers, body: .init(contentsOf: events))
        }
        return Response(status: answer.status, headers: headers, body: .init(byteBuffer: answer.body))
    }

    /// The events a stream would have carried for a whole answer, in the route's format.
    private static func synthesizedEvents(from answer: ByteBuffer, for request: ProxyRequest) -> [ByteBuffer]? {
        guard let parsed = try? JSONValue.parse(answer.readableBytesView) else { return nil }
        return request.route.dialect.events(answering: parsed, includeUsage: request.keyed.includeUsage)
    }
}

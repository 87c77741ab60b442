import CachetteCore
import Foundation
import Logging
import NIOCore

/// The store stage: only complete, well-formed 2xx answers are kept, and never against
/// `no-store`. Anything refused is relayed as it came, counted, and logged.
struct StorePolicy: Sendable {
    let store: CacheStore
    /// `cache.ttl`, for requests that do not set their own.
    let ttl: Double
    /// `cache.max_ttl`: no request's `x-cachette-ttl` keeps an answer longer.
    let maxTTL: Double
    let accounting: Accounting
    let logger: Logger

    /// Stores a whole answer (with its recorded events, for a stream) if it may be kept.
    func store(_ answer: UpstreamAnswer, usage: TokenUsage?, for request: ProxyRequest, events: RecordedStream? = nil) {
        guard answer.isSuccess, !request.controls.noStore else { return }
        if let problem = Self.problem(answer, shape: request.route.shape) {
            refuse(problem, route: request.route)
            return
        }
        let now = Date().timeIntervalSince1970
        let lifetime = min(request.controls.ttl ?? ttl, maxTTL)
        let cached = CachedResponse(
            status: answer.status.code, contentType: answer.contentType, body: answer.body,
            createdAt: now, expiresAt: now + lifetime, usage: usage ?? .zero, events: events
        )
        store.store(request.key, NewEntry(route: request.route.path, model: request.model, response: cached))
    }

    /// A stream request answered with a whole 2xx answer: relayed, never stored, for
    /// the request asked for events.
    func refuseWholeAnswer(_ answer: UpstreamAnswer, for request: ProxyRequest) {
        guard answer.isSuccess, !request.controls.noStore else { return }
        refuse("a stream request was answered with \(answer.contentType)", route: request.route)
    }

    /// Why a 2xx answer may not be stored, if it may not.
    static func problem(_ answer: UpstreamAnswer, shape: AnswerShape) -> String? {
        if let encoding = answer.headers[.contentEncoding], encoding.lowercased() != "identity" {
            return "the answer is \(encoding)-encoded, which the client did not ask for"
        }
        guard MediaType.isJSON(answer.contentType) else { return "the answer's Content-Type is \(answer.contentType), not JSON" }
        return answer.body.withUnsafeReadableBytes { shape.problem(in: $0) }
    }

    private func refuse(_ problem: String, route: CachedRoute) {
        accounting.note(.invalidAnswer)
        logger.warning("upstream answer not stored", metadata: ["route": "\(route.path)", "reason": "\(problem)"])
    }
}

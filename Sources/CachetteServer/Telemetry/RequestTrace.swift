import CachetteCore
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import Synchronization
import Tracing

/// One cached request's server span, and its upstream call as a child span, with the
/// OpenTelemetry GenAI attributes. Made only while telemetry is on; it carries model
/// names, ids, counts and outcomes, never a prompt, an answer or a credential.
final class RequestTrace: Sendable {
    private let tracer: any Tracer
    private let span: any Span
    private let operation: String
    private let upstream = Mutex<(any Span)?>(nil)

    init(tracer: any Tracer, route: CachedRoute, headers: HTTPFields) {
        var parent = ServiceContext.topLevel
        // The client's `traceparent`/`tracestate`: this request joins its trace.
        tracer.extract(headers, into: &parent, using: HTTPFieldsExtractor())
        operation = route.operationName
        span = tracer.startSpan(operation, context: parent, ofKind: .server)
        self.tracer = tracer
        span.attributes["gen_ai.operation.name"] = operation
        span.attributes["http.route"] = route.path
    }

    /// The request's model, and the provider it goes to (or would have gone to, for a hit).
    func requested(model: String, provider: APIFormat?) {
        span.operationName = model.isEmpty ? operation : "\(operation) \(model)"
        span.attributes["gen_ai.request.model"] = model
        if let provider { span.attributes["gen_ai.provider.name"] = provider.rawValue }
    }

    /// The answer's `id` and `model`, read alone from its top-level object.
    func answered(_ body: ByteBuffer) {
        body.withUnsafeReadableBytes { raw in
            if let id = JSONValue.member("id", of: raw)?.stringValue { span.attributes["gen_ai.response.id"] = id }
            if let model = JSONValue.member("model", of: raw)?.stringValue { span.attributes["gen_ai.response.model"] = model }
        }
    }

    /// A stored answer served, and the tier that had it.
    func hit(_ entry: CachedResponse, tier: StoreTier) {
        answered(entry.body)
        span.attributes["cachette.cache.tier"] = tier.rawValue
    }

    /// Starts the upstream call's span and puts its context in the outgoing headers, in
    /// place of the client's (the upstream then sees this hop as the caller).
    func callingUpstream(_ upstream: CachetteConfig.Upstream, headers: inout HTTPHeaders) {
        let child = tracer.startSpan(span.operationName, context: span.context, ofKind: .client)
        child.attributes["gen_ai.operation.name"] = operation
        child.attributes["gen_ai.provider.name"] = upstream.format.rawValue
        child.attributes["cachette.upstream"] = upstream.name
        if let host = URLComponents(string: upstream.baseURL)?.host { child.attributes["server.address"] = host }
        headers.remove(name: "traceparent")
        headers.remove(name: "tracestate")
        tracer.inject(child.context, into: &headers, using: HTTPHeadersInjector())
        self.upstream.withLock { $0 = child }
    }

    /// The upstream's status, on its span.
    func upstreamAnswered(status: Int) {
        upstream.withLock { $0?.attributes["http.response.status_code"] = status }
    }

    /// Ends both spans once the request is booked, with what the booking says.
    func finish(_ event: RequestEvent, booked: Ledger.Booking) {
        if let usage = event.usage {
            // The convention's input counts cache reads and writes (Anthropic's own excludes them; ours includes them).
            span.attributes["gen_ai.usage.input_tokens"] = usage.promptTokens
            span.attributes["gen_ai.usage.output_tokens"] = usage.completionTokens
            span.attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cachedPromptTokens
            span.attributes["gen_ai.usage.cache_creation.input_tokens"] = usage.cacheWritePromptTokens
        }
        span.attributes["cachette.cache.outcome"] = event.outcome.rawValue
        span.attributes["cachette.compression.saved_tokens"] = event.compression.saved
        span.attributes["cachette.cost.saved_usd"] = booked.saved.isFinite ? booked.saved : 0
        if event.streamed { span.attributes["cachette.stream"] = true }
        let failed = event.outcome == .error
        if let child = upstream.withLock({ span in
            defer { span = nil }; return span
        }) {
            if failed { child.setStatus(SpanStatus(code: .error)) }
            child.end()
        }
        if failed { span.setStatus(SpanStatus(code: .error)) }
        span.end()
    }
}

extension CachedRoute {
    /// `gen_ai.operation.name`.
    var operationName: String {
        switch self {
        case .chatCompletions, .messages, .responses: "chat"
        case .completions: "text_completion"
        case .embeddings: "embeddings"
        }
    }
}

private struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}

private struct HTTPHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPHeaders) {
        carrier.replaceOrAdd(name: key, value: value)
    }
}

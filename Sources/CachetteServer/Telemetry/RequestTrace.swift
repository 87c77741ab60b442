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
    /// Written to the spans once, when they end: a span's attributes are copied whole on
    /// every write.
    private struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var upstream: (span: any Span, attributes: SpanAttributes)?
    }
    private let state: Mutex<State>

    init(tracer: any Tracer, operation: String, route: String, headers: HTTPFields) {
        var parent = ServiceContext.topLevel
        // The client's `traceparent`/`tracestate`: this request joins its trace.
        tracer.extract(headers, into: &parent, using: HTTPFieldsExtractor())
        self.operation = operation
        span = tracer.startSpan(operation, context: parent, ofKind: .server)
        self.tracer = tracer
        var attributes = SpanAttributes()
        attributes["gen_ai.operation.name"] = operation
        attributes["http.route"] = route
        state = Mutex(State(name: operation, attributes: attributes))
    }

    /// The request's model, and the provider it goes to (or would have gone to, for a hit).
    func requested(model: String, provider: APIFormat?) {
        state.withLock { s in
            if !model.isEmpty { s.name = "\(operation) \(model)" }
            s.attributes["gen_ai.request.model"] = model
            if let provider { s.attributes["gen_ai.provider.name"] = provider.rawValue }
        }
    }

    /// The answer's `id` and `model`, read alone from its top-level object.
    func answered(_ body: ByteBuffer) {
        let (id, model) = body.withUnsafeReadableBytes { raw in
            (JSONValue.member("id", of: raw)?.stringValue, JSONValue.member("model", of: raw)?.stringValue)
        }
        state.withLock { s in
            if let id { s.attributes["gen_ai.response.id"] = id }
            if let model { s.attributes["gen_ai.response.model"] = model }
        }
    }

    /// A stored answer served, and the tier that had it.
    func hit(_ entry: CachedResponse, tier: StoreTier) {
        answered(entry.body)
        state.withLock { $0.attributes["cachette.cache.tier"] = tier.rawValue }
    }

    /// Starts the upstream call's span and puts its context in the outgoing headers, in
    /// place of the client's (the upstream then sees this hop as the caller).
    func callingUpstream(_ upstream: CachetteConfig.Upstream, headers: inout HTTPHeaders) {
        let name = state.withLock { $0.name }
        let child = tracer.startSpan(name, context: span.context, ofKind: .client)
        var attributes = SpanAttributes()
        attributes["gen_ai.operation.name"] = operation
        attributes["gen_ai.provider.name"] = upstream.format.rawValue
        attributes["cachette.upstream"] = upstream.name
        if let host = URLComponents(string: upstream.baseURL)?.host { attributes["server.address"] = host }
        headers.remove(name: "traceparent")
        headers.remove(name: "tracestate")
        tracer.inject(child.context, into: &headers, using: HTTPHeadersInjector())
        state.withLock { $0.upstream = (child, attributes) }
    }

    /// The upstream's status, on its span.
    func upstreamAnswered(status: Int) {
        state.withLock { $0.upstream?.attributes["http.response.status_code"] = status }
    }

    /// Ends both spans once the request is booked, with what the booking says: its
    /// outcome, the usage its answer reported, and what it saved.
    func finish(outcome: RequestOutcome, usage: TokenUsage?, savedTokens: Int, savedUSD: Double, streamed: Bool) {
        var done = state.withLock { s in
            let taken = s
            s.upstream = nil
            return taken
        }
        if let usage {
            // The convention's input counts cache reads and writes (Anthropic's own excludes them; ours includes them).
            done.attributes["gen_ai.usage.input_tokens"] = usage.promptTokens
            done.attributes["gen_ai.usage.output_tokens"] = usage.completionTokens
            done.attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cachedPromptTokens
            done.attributes["gen_ai.usage.cache_creation.input_tokens"] = usage.cacheWritePromptTokens
        }
        done.attributes["cachette.cache.outcome"] = outcome.rawValue
        done.attributes["cachette.compression.saved_tokens"] = savedTokens
        done.attributes["cachette.cost.saved_usd"] = savedUSD.isFinite ? savedUSD : 0
        if streamed { done.attributes["cachette.stream"] = true }
        let failed = outcome == .error
        if let (child, attributes) = done.upstream {
            child.attributes = attributes
            if failed { child.setStatus(SpanStatus(code: .error)) }
            child.end()
        }
        span.operationName = done.name
        span.attributes = done.attributes
        if failed { span.setStatus(SpanStatus(code: .error)) }
        span.end()
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

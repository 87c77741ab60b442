import AsyncHTTPClient
import CachetteCore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The upstream stage of a cached request: compress it, route it (translated where the
/// formats differ), send it, and count the tokens of an answer that reported none.
struct Forwarder: Sendable {
    let router: UpstreamRouter
    let client: UpstreamClient
    /// `compression:`; the level is the request's own.
    let compression: CompressionOptions
    let streams: LiveStream.Settings
    /// Where each Responses answer was made, for the requests that later name it by id.
    let owners: ResponseOwners
    /// Streams book their failures and slow clients as they happen.
    let accounting: Accounting
    /// Whose credential a request carries, for its `prompt_cache_key`.
    let scope: RequestScope
    let promptCache: CachetteConfig.PromptCache
    /// Anthropic breakpoints, and what it remembers of each scope's prefixes.
    let steering: PromptCacheSteering
    let logger: Logger

    /// A request ready to send, and what compression took off it.
    struct Outbound: Sendable {
        let model: String
        /// The client's format, which answers are in once translated back.
        let answerFormat: APIFormat
        let exchange: UpstreamExchange
        let outgoing: HTTPClientRequest
        let body: OutboundBody
        let compression: CompressionTally
        /// Where a Responses answer's id is noted, and for whose credential; nil on other routes.
        let owners: (ResponseOwners, tenant: ResponseOwners.Tenant)?
        let trace: RequestTrace?

        /// A 2xx answer, whole or assembled from its stream: traced, and a Responses
        /// answer's id noted as its upstream's.
        func answered(_ answer: ByteBuffer) {
            trace?.answered(answer)
            if let (owners, tenant) = owners { owners.note(answer: answer, upstream: exchange.upstream.name, for: tenant) }
        }

        /// The tokens of a 2xx answer that reported none, counted from the request as sent.
        func countedUsage(_ answer: JSONValue) -> TokenUsage? {
            var body = body
            return body.client().flatMap { UsageCounter.count(request: $0, answer: answer, model: model) }
        }

        /// The request as it goes out: with the upstream span's `traceparent` when traced,
        /// started here, at the send (an outbound built but never sent makes no span).
        func sending() -> HTTPClientRequest {
            guard let trace else { return outgoing }
            var traced = outgoing
            trace.callingUpstream(exchange.upstream, headers: &traced.headers)
            return traced
        }
    }

    /// What sending produced. Never thrown: every outcome is booked by the caller.
    enum Sent: Sendable {
        case answer(UpstreamAnswer, usage: TokenUsage?, counted: Bool)
        /// A 2xx event stream, being relayed; it books its leader when it ends.
        case stream(LiveStream)
        case failed(APIError)
    }

    /// Compresses and routes the request. A refusal here (no upstream for the model, a
    /// parameter that cannot be translated) comes before any upstream call.
    func outbound(_ request: ProxyRequest) throws(APIError) -> Outbound {
        let exchange = try router.exchange(for: request.model, route: request.route)
        var body = OutboundBody(request.body)
        var tally = CompressionTally()
        if request.level != .off, let tokenizer = try? Tokenizer.shared(TokenEncoding.forModel(request.model).encoding) {
            var options = compression
            options.level = request.level
            let compressor = PromptCompressor(options: options, tokenizer: tokenizer, countsUnchanged: false)
            let responses = request.route == .responses
            body.edit { parsed in
                let compression = responses ? compressor.compress(responsesRequest: &parsed) : compressor.compress(request: &parsed)
                tally = compression?.tally ?? CompressionTally()
                return tally.saved > 0
            }
        }
        keyProviderCache(request, exchange: exchange, body: &body)
        let outgoing = try exchange.outgoing(
            request.request, body: &body, askUsage: request.stream && request.route.streamsTakeUsageOption, client: client,
            steer: steer(request, exchange: exchange))
        return Outbound(
            model: request.model, answerFormat: request.route.format, exchange: exchange, outgoing: outgoing, body: body,
            compression: tally.saved > 0 ? tally : CompressionTally(),
            owners: request.route == .responses ? (owners, owners.tenant(of: request.request.headers)) : nil, trace: request.trace)
    }

    /// A long chat or Responses request to an OpenAI upstream gets a `prompt_cache_key`
    /// (`PromptCacheKey`) when it has none, after keying: the cache key is the client's.
    private func keyProviderCache(_ request: ProxyRequest, exchange: UpstreamExchange, body: inout OutboundBody) {
        guard exchange.upstream.format == .openai, exchange.translation == nil, request.route == .chatCompletions || request.route == .responses,
            (request.controls.promptCache ?? promptCache.openai) == .auto,
            // No prompt of fewer bytes has 1,024 tokens: most requests are decided unparsed.
            request.body.readableBytes >= PromptCacheKey.minimumTokens,
            let tokenizer = try? Tokenizer.shared(TokenEncoding.forModel(request.model).encoding)
        else { return }
        let credential = scope.credential(request.request.headers)
        let responses = request.route == .responses
        body.edit { PromptCacheKey.add(to: &$0, responses: responses, credential: credential, tokenizer: tokenizer) }
    }

    /// Priced `cache_control` breakpoints for a request that reaches an Anthropic
    /// upstream, native or translated, after keying and compression: the cache key and
    /// the stored answer are the client's, so hits never see them.
    private func steer(_ request: ProxyRequest, exchange: UpstreamExchange) -> UpstreamExchange.Steer? {
        guard exchange.upstream.format == .anthropic, (request.controls.promptCache ?? promptCache.anthropic) == .auto else { return nil }
        let steering = steering
        let credential = scope.credential(request.request.headers)
        let model = request.model
        let tokenizer = try? Tokenizer.shared(TokenEncoding.forModel(model).encoding)
        return { bytes in
            steering.steer(bytes, credential: credential, model: model, tokenizer: tokenizer, now: Date().timeIntervalSince1970)
        }
    }

    /// One upstream call for a whole answer.
    func fetch(_ outbound: Outbound) async -> Sent {
        do {
            var answer = try outbound.exchange.answer(
                await client.fetch(outbound.sending(), upstream: outbound.exchange.upstream, logger: logger)
            )
            outbound.trace?.upstreamAnswered(status: answer.status.code)
            if answer.isSuccess { outbound.answered(answer.body) }
            let saved = outbound.compression.saved
            if saved > 0 { answer.headers[CachetteHeaders.tokensSaved] = String(saved) }
            let (usage, counted) = Self.usage(of: answer, outbound: outbound)
            return .answer(answer, usage: usage, counted: counted)
        } catch {
            return .failed(error)
        }
    }

    /// Sends a streaming request. A 2xx event stream starts relaying at once, and
    /// `onEnd` gets how it ended; anything else (an error, or a whole JSON answer) is
    /// read in full like a fetch, and `onEnd` never runs.
    func stream(_ outbound: Outbound, request: ProxyRequest, onEnd: @escaping @Sendable (LiveStream.End) -> Void) async -> Sent {
        let exchange = outbound.exchange
        let response: HTTPClientResponse
        do {
            response = try await client.send(outbound.sending(), upstream: exchange.upstream, logger: logger)
            outbound.trace?.upstreamAnswered(status: Int(response.status.code))
        } catch {
            return .failed(error)
        }
        let status = HTTPResponse.Status(code: Int(response.status.code))
        var headers = ForwardedHeaders.response(response.headers)
        let isEventStream = headers[.contentType]?.lowercased().hasPrefix("text/event-stream") ?? false
        guard (200..<300).contains(status.code), isEventStream else {
            do {
                let answer = try exchange.answer(await client.collect(response, from: exchange.upstream, logger: logger))
                return .answer(answer, usage: answer.body.withUnsafeReadableBytes(outbound.answerFormat.provider.usage), counted: false)
            } catch {
                return .failed(error)
            }
        }
        if exchange.translation != nil { headers[.contentLength] = nil }
        let stream = LiveStream(
            // A translated stream is rewritten into the client's format, so it reads as the client's route.
            status: status, headers: headers, dialect: request.route.dialect, includeUsage: request.keyed.includeUsage,
            tokensSaved: outbound.compression.saved, settings: streams, accounting: accounting
        )
        stream.relay(
            response.body, for: outbound, translator: exchange.streamTranslator(maxEventBytes: streams.maxBufferedBytes),
            failure: client.failure(exchange.upstream), idle: client.idleLimit(exchange.upstream), logger: logger, onEnd: onEnd)
        return .stream(stream)
    }

    /// The usage the answer reports in its client's format, else, for a 2xx answer without one, the tokens counted here.
    static func usage(of answer: UpstreamAnswer, outbound: Outbound) -> (TokenUsage?, counted: Bool) {
        if let usage = answer.body.withUnsafeReadableBytes(outbound.answerFormat.provider.usage) { return (usage, false) }
        guard answer.isSuccess, let parsed = try? JSONValue.parse(answer.body.readableBytesView),
            let counted = outbound.countedUsage(parsed)
        else { return (nil, false) }
        return (counted, true)
    }
}

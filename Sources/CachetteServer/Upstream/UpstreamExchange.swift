import AsyncHTTPClient
import CachetteCore
import Foundation
import Hummingbird
import NIOCore

/// How a cached request reaches the upstream its model routes to: as the client sent
/// it, or, when the upstream speaks another format, through that pair's
/// `FormatTranslation` (an OpenAI chat request as a Messages request, whose answer and
/// stream come back as chat). The cache key and the stored answer are the client's side
/// of the exchange, so hits need none of this.
struct UpstreamExchange: Sendable {
    let upstream: CachetteConfig.Upstream
    /// Nil when the client's format is the upstream's.
    let translation: FormatTranslation?

    /// The request to send. OpenAI chat and completions streams (`askUsage`) ask for
    /// `usage` whatever the client asked, so every recorded stream knows its tokens;
    /// translated requests go to `/v1/messages`. `body` keeps what was parsed, for
    /// counting the answer's tokens later. `steer` may add `cache_control` markers to
    /// the final bytes of a request to an Anthropic upstream (`PromptCacheSteering`).
    func outgoing(
        _ request: Request, body: inout OutboundBody, askUsage: Bool, client: UpstreamClient, steer: Steer? = nil
    ) throws(APIError) -> HTTPClientRequest {
        guard let translation else {
            if askUsage && upstream.format == .openai { body.edit { UsageReporting.request(in: &$0) } }
            var bytes = body.bytes
            if upstream.format == .anthropic, let steer, let steered = bytes.withUnsafeReadableBytes(steer) { bytes = ByteBuffer(bytes: steered) }
            return client.makeRequest(request, upstream: upstream, body: .bytes(bytes))
        }
        guard let parsed = body.current else {
            throw APIError.badRequest(InvalidRequest("The request body is not valid JSON.", code: "invalid_json"))
        }
        let translated: JSONValue
        do {
            translated = try translation.request(parsed)
        } catch {
            throw APIError.badRequest(error)
        }
        var bytes = translated.serialized()
        if let steer, let steered = bytes.withUnsafeBytes(steer) { bytes = steered }
        return client.makeRequest(request, upstream: upstream, body: .bytes(ByteBuffer(bytes: bytes)), path: translation.path, translated: true)
    }

    /// Rewrites a Messages request's bytes, or returns nil to leave them.
    typealias Steer = (UnsafeRawBufferPointer) -> [UInt8]?

    /// Rewrites the upstream's events for the client, when the formats differ.
    func streamTranslator(maxEventBytes: Int) -> (any StreamTranslating)? {
        translation?.stream(Int(Date().timeIntervalSince1970), maxEventBytes)
    }

    /// A whole answer in the client's format (a message as a chat completion, an
    /// Anthropic error as an OpenAI one). An error that is not JSON passes as it came; a
    /// 2xx not of the upstream's answer shape cannot be put in the client's format, and
    /// is a 502.
    func answer(_ answer: UpstreamAnswer) throws(APIError) -> UpstreamAnswer {
        guard let translation else { return answer }
        let parsed = try? JSONValue.parse(answer.body.readableBytesView)
        let rewritten: JSONValue?
        if answer.isSuccess {
            // Checked on the bytes: parsing would quietly repair invalid UTF-8.
            guard let parsed, answer.body.withUnsafeReadableBytes({ translation.upstreamShape.problem(in: $0) }) == nil else {
                throw APIError.upstreamInvalid(
                    "a 2xx answer from \(upstream.name) is not an answer in its format (\(upstream.format.rawValue)), so it cannot be translated")
            }
            rewritten = translation.answer(parsed, Int(Date().timeIntervalSince1970))
        } else {
            rewritten = parsed.flatMap(translation.error)
        }
        guard let rewritten else { return answer }
        var out = answer
        out.body = ByteBuffer(bytes: rewritten.serialized())
        out.headers[.contentType] = "application/json"
        out.headers[.contentLength] = nil
        return out
    }
}

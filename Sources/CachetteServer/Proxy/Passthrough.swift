import AsyncHTTPClient
import CachetteCore
import Hummingbird
import NIOCore

/// Every other `/v1/*` request (responses, images, audio, files, batches, …): forwarded
/// unchanged and never cached. A client's key goes only where its model goes:
/// - a body that parses as JSON, whatever its label, and names a `model` goes to that
///   model's upstream, as a cached request would;
/// - Anthropic's own paths (`/v1/messages/batches`, …) go to the first `anthropic` upstream;
/// - anything else (uploads, GETs, non-JSON) goes only to the upstream named `default`,
///   and is refused with a 400 when there is none, rather than guessed.
struct Passthrough: Sendable {
    /// The `route` label of these requests in /metrics.
    static let route = "passthrough"
    static let limitSetting = "server.max_passthrough_bytes"

    let sidecar: Sidecar

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let limits = sidecar.config.server
        let declared = request.headers[.contentLength].flatMap { Int64($0) }
        if let declared, declared > Int64(limits.maxPassthroughBytes) { throw APIError.tooLarge(limit: limits.maxPassthroughBytes, setting: Self.limitSetting) }
        // A body small enough to read is read, to find its model; multipart uploads never name one in JSON.
        if let declared, declared > 0, declared <= Int64(limits.maxBodyBytes), !Self.isMultipart(request.headers) {
            let body = try await request.body.collect(upTo: limits.maxBodyBytes)
            let route: CachetteConfig.Route
            if let model = body.withUnsafeReadableBytes({ JSONValue.member("model", of: $0) })?.stringValue {
                if let invalid = ModelName.problem(model) { throw APIError.badRequest(invalid) }
                route = try sidecar.route(for: model, path: request.uri.path, format: request.uri.path.hasPrefix("/v1/messages/") ? .anthropic : .openai)
            } else {
                route = try modelessRoute(for: request.uri.path)
            }
            return try await sidecar.relay(sidecar.upstream.makeRequest(request, route: route, body: .bytes(body)), route: route)
        }
        let length: HTTPClientRequest.Body.Length = declared.map { .known($0) } ?? .unknown
        // Transfer-Encoding never reaches us (HTTPTypes drops it), so a chunked upload
        // shows no length: stream the body of any method that usually carries one.
        let hasBody = declared.map { $0 > 0 } ?? [.post, .put, .patch].contains(request.method)
        let route = try modelessRoute(for: request.uri.path)
        let body = LimitedBody(base: request.body, limit: limits.maxPassthroughBytes)
        let outgoing = sidecar.upstream.makeRequest(request, route: route, body: hasBody ? .stream(body, length: length) : nil)
        return try await sidecar.relay(outgoing, route: route)
    }

    /// Where a request that names no model may go: only where a key of any provider
    /// may be sent, the `default` upstream (Anthropic's own paths: the anthropic one).
    private func modelessRoute(for path: String) throws(APIError) -> CachetteConfig.Route {
        if path.hasPrefix("/v1/messages/"), let anthropic = sidecar.routes.first(where: { $0.format == .anthropic }) { return anthropic }
        guard let route = sidecar.routes.first(where: \.isDefault) else {
            throw APIError(
                status: .badRequest,
                message: "\(path) requests that name no model go only to the upstream named default, and there is none. Add an upstreams entry named default, or send a JSON body with a model.",
                code: "no_default_upstream"
            )
        }
        return route
    }

    static func isMultipart(_ headers: HTTPFields) -> Bool {
        headers[.contentType]?.lowercased().hasPrefix("multipart/") ?? false
    }
}

/// A streamed request body that fails once it has passed `limit` bytes, for uploads
/// whose length was not declared.
struct LimitedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let limit: Int
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let buffer = try await base.next() else { return nil }
            seen += buffer.readableBytes
            if seen > limit { throw APIError.tooLarge(limit: limit, setting: Passthrough.limitSetting) }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), limit: limit) }
}

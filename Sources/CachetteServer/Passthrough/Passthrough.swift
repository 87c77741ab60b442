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
///   and is refused with a 400 when there is none, rather than guessed;
/// - `POST /v1/messages/count_tokens` must name its model (`respondNamingModel`).
struct Passthrough: Sendable {
    /// The `route` label of these requests in /metrics.
    static let route = "passthrough"
    static let limitSetting = "server.max_passthrough_bytes"

    let router: UpstreamRouter
    /// Requests about a stored response go to the upstream that made it.
    let owners: ResponseOwners
    let relay: Relay
    /// `server.max_body_bytes`: a body up to this size is read, to find its model.
    let maxBodyBytes: Int
    /// `server.max_passthrough_bytes`: the largest body streamed through.
    let maxPassthroughBytes: Int

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        try await relay.relay { () async throws(APIError) in try await prepare(request) }
    }

    /// A request whose body must name a model, sent to that model's upstream of `format`.
    func respondNamingModel(_ request: Request, format: APIFormat) async throws -> Response {
        try await relay.relay { () async throws(APIError) in
            let body = try await BodyReader.read(request, limit: maxBodyBytes)
            guard let model = body.withUnsafeReadableBytes({ JSONValue.member("model", of: $0) })?.stringValue else {
                throw APIError(status: .badRequest, message: "The request needs a \"model\" string.", code: "missing_model", param: "model")
            }
            let upstream = try self.upstream(for: model, path: request.uri.path, format: format)
            return (relay.client.makeRequest(request, upstream: upstream, body: .bytes(body)), upstream)
        }
    }

    private func upstream(for model: String, path: String, format: APIFormat) throws(APIError) -> CachetteConfig.Upstream {
        if let invalid = ModelName.problem(model) { throw APIError.badRequest(invalid) }
        return try router.upstream(for: model, path: path, format: format)
    }

    /// The request to send and where: by the body's model when it names one.
    private func prepare(_ request: Request) async throws(APIError) -> (HTTPClientRequest, CachetteConfig.Upstream) {
        // A client given `…/v1` as its base URL that adds `/v1` itself (Anthropic's SDK): say so.
        if request.uri.path.hasPrefix("/v1/v1/") { throw APIError.doubledVersion(request.uri.path) }
        let declared = request.headers[.contentLength].flatMap { Int64($0) }
        if let declared, declared > Int64(maxPassthroughBytes) { throw APIError.tooLarge(limit: maxPassthroughBytes, setting: Self.limitSetting) }
        // A body small enough to read is read, to find its model; multipart uploads never name one in JSON.
        if let declared, declared > 0, declared <= Int64(maxBodyBytes), !Self.isMultipart(request.headers) {
            let body = try await BodyReader.read(request, limit: maxBodyBytes)
            let upstream: CachetteConfig.Upstream
            if let model = body.withUnsafeReadableBytes({ JSONValue.member("model", of: $0) })?.stringValue {
                let path = request.uri.path
                upstream = try self.upstream(for: model, path: path, format: APIFormat.owning(path) ?? .openai)
            } else {
                upstream = try modelless(request)
            }
            return (relay.client.makeRequest(request, upstream: upstream, body: .bytes(body)), upstream)
        }
        let length: HTTPClientRequest.Body.Length = declared.map { .known($0) } ?? .unknown
        // Transfer-Encoding never reaches us (HTTPTypes drops it), so a chunked upload
        // shows no length: stream the body of any method that usually carries one.
        let hasBody = declared.map { $0 > 0 } ?? [.post, .put, .patch].contains(request.method)
        let upstream = try modelless(request)
        let body = LimitedBody(base: request.body, limit: maxPassthroughBytes)
        return (relay.client.makeRequest(request, upstream: upstream, body: hasBody ? .stream(body, length: length) : nil), upstream)
    }

    /// The upstream for a request that names no model: the one that made the response a
    /// `/v1/responses/{id}` path names, when known, else the router's choice.
    private func modelless(_ request: Request) throws(APIError) -> CachetteConfig.Upstream {
        let path = request.uri.path
        if let owner = owners.owner(ofPath: path, for: owners.tenant(of: request.headers)),
            let upstream = router.upstreams.first(where: { $0.name == owner })
        {
            return upstream
        }
        return try router.modelless(path: path)
    }

    static func isMultipart(_ headers: HTTPFields) -> Bool {
        headers[.contentType]?.lowercased().hasPrefix("multipart/") ?? false
    }
}

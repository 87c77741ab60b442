import AsyncHTTPClient
import CachetteCore
import Hummingbird
import NIOCore

/// A request that is forwarded uncached (`X-Cache: BYPASS`) to the upstream its
/// body's `model` routes to: `POST /v1/messages/count_tokens`.
struct RoutedPassthrough: Sendable {
    let router: UpstreamRouter
    let relay: Relay
    let format: APIFormat
    let maxBodyBytes: Int

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        try await relay.relay { () async throws(APIError) in try await prepare(request) }
    }

    private func prepare(_ request: Request) async throws(APIError) -> (HTTPClientRequest, CachetteConfig.Upstream) {
        let body = try await BodyReader.read(request, limit: maxBodyBytes)
        guard let model = body.withUnsafeReadableBytes({ JSONValue.member("model", of: $0) })?.stringValue else {
            throw APIError(status: .badRequest, message: "The request needs a \"model\" string.", code: "missing_model", param: "model")
        }
        if let invalid = ModelName.problem(model) { throw APIError.badRequest(invalid) }
        let upstream = try router.upstream(for: model, path: request.uri.path, format: format)
        return (relay.client.makeRequest(request, upstream: upstream, body: .bytes(body)), upstream)
    }
}

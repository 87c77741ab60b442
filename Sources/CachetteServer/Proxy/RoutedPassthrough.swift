import AsyncHTTPClient
import CachetteCore
import Hummingbird
import NIOCore

/// A request that is forwarded uncached (`X-Cache: BYPASS`) to the upstream its
/// body's `model` routes to: `POST /v1/messages/count_tokens`.
struct RoutedPassthrough: Sendable {
    let sidecar: Sidecar
    let format: CachetteConfig.Route.Format

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let limit = sidecar.config.server.maxBodyBytes
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge(limit: limit)
        }
        guard let model = body.withUnsafeReadableBytes({ JSONValue.member("model", of: $0) })?.stringValue else {
            throw APIError(status: .badRequest, message: "The request needs a \"model\" string.", code: "missing_model", param: "model")
        }
        if let invalid = ModelName.problem(model) { throw APIError.badRequest(invalid) }
        let route = try sidecar.route(for: model, path: request.uri.path, format: format)
        return try await sidecar.relay(sidecar.upstream.makeRequest(request, route: route, body: .bytes(body)), route: route)
    }
}

import AsyncHTTPClient
import CachetteCore
import Hummingbird
import NIOCore

/// Every other `/v1/*` request (responses, images, audio, files, batches, …): forwarded
/// unchanged and never cached. A JSON body that names a `model` goes to that model's
/// upstream, as a cached request would; anything else (uploads, GETs) goes to the
/// `default` upstream (else the first; Anthropic's paths to the first `anthropic` one)
/// with both bodies streamed.
struct Passthrough: Sendable {
    /// The `route` label of these requests in /metrics.
    static let route = "passthrough"

    let sidecar: Sidecar

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let declared = request.headers[.contentLength].flatMap { Int64($0) }
        if request.method == .post, Self.isJSON(request.headers), let declared, declared <= Int64(sidecar.config.server.maxBodyBytes) {
            return try await routed(request)
        }
        let length: HTTPClientRequest.Body.Length = declared.map { .known($0) } ?? .unknown
        // Transfer-Encoding never reaches us (HTTPTypes drops it), so a chunked upload
        // shows no length: stream the body of any method that usually carries one.
        let hasBody = declared.map { $0 > 0 } ?? [.post, .put, .patch].contains(request.method)
        let route = sidecar.fallbackRoute(for: request.uri.path)
        let outgoing = sidecar.upstream.makeRequest(request, route: route, body: hasBody ? .stream(request.body, length: length) : nil)
        return try await sidecar.relay(outgoing, route: route)
    }

    /// A JSON body small enough to read: its `model`, if it names one, picks the upstream,
    /// so a client's key never goes to a provider that does not serve the model.
    private func routed(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: sidecar.config.server.maxBodyBytes)
        let model = body.withUnsafeReadableBytes { JSONValue.member("model", of: $0) }?.stringValue
        let route = try model.map { model throws(APIError) in try sidecar.route(for: model, path: request.uri.path) } ?? sidecar.fallbackRoute(for: request.uri.path)
        return try await sidecar.relay(sidecar.upstream.makeRequest(request, route: route, body: .bytes(body)), route: route)
    }

    static func isJSON(_ headers: HTTPFields) -> Bool {
        headers[.contentType]?.lowercased().hasPrefix("application/json") ?? false
    }
}

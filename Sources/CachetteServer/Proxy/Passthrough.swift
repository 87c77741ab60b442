import AsyncHTTPClient
import Hummingbird

/// Every other `/v1/*` request (files, batches, …): forwarded unchanged to the
/// `default` upstream (else the first) with both bodies streamed, and never cached.
struct Passthrough: Sendable {
    /// The `route` label of these requests in /metrics.
    static let route = "passthrough"

    let sidecar: Sidecar

    func respond(to request: Request, context: some RequestContext) async throws -> Response {
        let declared = request.headers[.contentLength].flatMap { Int64($0) }
        let length: HTTPClientRequest.Body.Length = declared.map { .known($0) } ?? .unknown
        // Transfer-Encoding never reaches us (HTTPTypes drops it), so a chunked upload
        // shows no length: stream the body of any method that usually carries one.
        let hasBody = declared.map { $0 > 0 } ?? [.post, .put, .patch].contains(request.method)
        let route = sidecar.fallbackRoute
        let outgoing = sidecar.upstream.makeRequest(request, route: route, body: hasBody ? .stream(request.body, length: length) : nil)
        return try await sidecar.relay(outgoing, route: route)
    }
}

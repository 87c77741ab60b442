import CachetteCore
import Hummingbird

/// `GET /metrics`: Prometheus text exposition of the sidecar's metrics.
struct MetricsEndpoint: Sendable {
    let sidecar: Sidecar

    func respond(to request: Request, context: some RequestContext) -> Response {
        let text = sidecar.metrics.scrape(totals: sidecar.store?.totals ?? StoreTotals())
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: text))
        )
    }
}

import CachetteCore
import CachetteShared
import Hummingbird

/// `GET /metrics`: Prometheus text exposition of the sidecar's metrics.
struct MetricsEndpoint: Sendable {
    let metrics: CachetteMetrics
    let store: CacheStore?
    let shared: PostgresTier?
    let steering: PromptCacheSteering

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/metrics") { request, context in respond(to: request, context: context) }
    }

    func respond(to request: Request, context: some RequestContext) -> Response {
        let text = metrics.scrape(totals: store?.totals ?? StoreTotals(), shared: shared?.status, steering: steering.counters)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: text))
        )
    }
}

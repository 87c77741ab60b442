import CachetteCore
import Hummingbird

/// `GET /health`: liveness plus two cached totals. Reads memory only, never the database.
struct HealthEndpoint: Sendable {
    let store: CacheStore?
    let startedAt: ContinuousClock.Instant

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/health") { request, context in respond(to: request, context: context) }
    }

    func respond(to request: Request, context: some RequestContext) -> Response {
        let totals = store?.totals ?? StoreTotals()
        let uptime = (ContinuousClock.now - startedAt).seconds
        let body: JSONValue = .object([
            "status": .string("ok"),
            "version": .string(CachetteVersion.current),
            "uptime_seconds": .int(Int(uptime)),
            "cache": .object([
                "enabled": .bool(store != nil),
                "entries": .int(totals.entries),
                "bytes": .int(totals.bytes),
            ]),
        ])
        return JSONResponse.make(body)
    }
}

import CachetteCore
import Hummingbird

/// `GET /health`: liveness plus two cached totals. Reads memory only, never the database.
struct HealthEndpoint: Sendable {
    let sidecar: Sidecar

    func respond(to request: Request, context: some RequestContext) -> Response {
        let totals = sidecar.store?.totals ?? StoreTotals()
        let uptime = (ContinuousClock.now - sidecar.startedAt).seconds
        let body: JSONValue = .object([
            "status": .string("ok"),
            "version": .string(CachetteVersion.current),
            "uptime_seconds": .int(Int(uptime)),
            "cache": .object([
                "enabled": .bool(sidecar.store != nil),
                "entries": .int(totals.entries),
                "bytes": .int(totals.bytes),
            ]),
        ])
        return JSONResponse.make(body)
    }
}

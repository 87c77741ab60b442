import CachetteCore
import CachetteShared
import Hummingbird

/// `GET /health`: liveness plus two cached totals and the shared tier's state. Reads
/// memory only, never a database; stays 200 while the shared tier is down, since the
/// sidecar still serves.
struct HealthEndpoint: Sendable {
    let store: CacheStore?
    let shared: PostgresTier?
    let startedAt: ContinuousClock.Instant
    /// Upstreams with `tls.verify: false`: flagged here as well as at start-up.
    var unverifiedUpstreams: [String] = []

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/health") { request, context in respond(to: request, context: context) }
    }

    func respond(to request: Request, context: some RequestContext) -> Response {
        let totals = store?.totals ?? StoreTotals()
        let uptime = (ContinuousClock.now - startedAt).seconds
        var body: [JSONValue.Member] = [
            .init("status", .string("ok")),
            .init("version", .string(CachetteVersion.current)),
            .init("commit", .string(CachetteVersion.commit)),
            .init("uptime_seconds", .int(Int(uptime))),
            .init(
                "cache",
                .object([
                    "enabled": .bool(store != nil),
                    "entries": .int(totals.entries),
                    "bytes": .int(totals.bytes),
                ])),
            .init("tls_unverified_upstreams", .array(unverifiedUpstreams.map(JSONValue.string))),
        ]
        if let shared {
            let status = shared.status
            body.append(
                .init(
                    "shared",
                    .object([
                        "state": .string(status.state.rawValue),
                        "last_error": status.lastError.map(JSONValue.string) ?? .null,
                        "url": .string(shared.options.url.redacted),
                    ])))
        }
        return JSONResponse.make(.object(body))
    }
}

import CachetteCore
import Hummingbird

/// `GET /stats/recent[?limit=50]`: the last requests, newest first, for the dashboard.
/// Only what the ledger keeps: no prompt, no answer, nothing of the credential.
struct RecentRequestsEndpoint: Sendable {
    let ledger: Ledger

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/stats/recent") { request, _ in try await respond(to: request) }
    }

    func respond(to request: Request) async throws -> Response {
        var limit = 50
        if let text = request.uri.queryParameters["limit"] {
            guard text.count <= 4, let value = Int(text), (1...RecentRequest.maxLimit).contains(value) else {
                throw APIError(
                    status: .badRequest, message: "limit must be a whole number from 1 to \(RecentRequest.maxLimit).", code: "invalid_limit",
                    param: "limit")
            }
            limit = value
        }
        let recent = try await ledger.recent(limit: limit)
        return JSONResponse.make(
            .object([
                "requests": .array(
                    recent.map { r in
                        .object([
                            "time": .double(r.time),
                            "route": .string(r.route),
                            "model": .string(r.model),
                            "outcome": .string(r.outcome),
                            "latency_ms": .double(r.latencyMs),
                            "prompt_tokens": .int(r.promptTokens),
                            "completion_tokens": .int(r.completionTokens),
                            "spent_usd": .double(r.spentUSD),
                            "saved_usd": .double(r.savedUSD),
                        ])
                    })
            ]))
    }
}

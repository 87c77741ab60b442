import CachetteCore
import Hummingbird

/// `GET /stats/series[?window=1h|24h|7d|all][&step=5m]`: the ledger in time buckets, for
/// the dashboard's charts. Columns, one value per bucket: requests per outcome, dollars
/// spent and saved (by cause), tokens saved (by cause). Read from per-minute and
/// per-hour sums, so its cost does not grow with the traffic.
struct StatsSeriesEndpoint: Sendable {
    let ledger: Ledger

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("/stats/series") { request, _ in try await respond(to: request) }
    }

    func respond(to request: Request) async throws -> Response {
        let name = request.uri.queryParameters["window"].map(String.init) ?? "24h"
        guard let window = LedgerWindow(rawValue: name) else {
            throw APIError(
                status: .badRequest,
                message: "window must be one of \(LedgerWindow.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(name)\".",
                code: "invalid_window", param: "window")
        }
        var step: Int?
        if let text = request.uri.queryParameters["step"] {
            guard let seconds = LedgerSeries.parseStep(text) else {
                throw APIError(
                    status: .badRequest, message: "step must be a duration such as 60s, 5m, 1h or 1d.", code: "invalid_step", param: "step")
            }
            step = seconds
        }
        let series: LedgerSeries
        do {
            series = try await ledger.series(window, step: step)
        } catch let error as LedgerSeriesError {
            throw APIError(status: .badRequest, message: error.description, code: "invalid_step", param: "step")
        }
        func dollars(_ values: [Double]) -> JSONValue { .array(values.map { .double(($0 * 1e10).rounded() / 1e10) }) }
        func counts(_ values: [Int]) -> JSONValue { .array(values.map { .int($0) }) }
        let requests = RequestOutcome.allCases.map { JSONValue.Member($0.rawValue, counts(series.requests[$0] ?? [])) }
        return JSONResponse.make(
            .object([
                "window": .string(series.window.rawValue),
                "step": .int(series.step),
                "start": .int(series.start),
                "buckets": .int(series.count),
                "time": .array((0..<series.count).map { .int(series.start + $0 * series.step) }),
                "requests": .object(requests),
                "spent_usd": dollars(series.spentUSD),
                "saved_cache_usd": dollars(series.savedCacheUSD),
                "saved_compression_usd": dollars(series.savedCompressionUSD),
                "saved_provider_cache_usd": dollars(series.savedProviderCacheUSD),
                "saved_cache_tokens": counts(series.savedCacheTokens),
                "saved_compression_tokens": counts(series.savedCompressionTokens),
            ]))
    }
}

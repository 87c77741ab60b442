import CachetteCore
import HTTPTypes

/// Per-request cache controls.
/// - `Cache-Control: no-cache`: skip the lookup, still store the fresh answer.
/// - `Cache-Control: no-store`: do not store the answer.
/// - `x-cachette-ttl: SECONDS`: this answer's lifetime; 0 means do not store.
/// - `x-cachette-compress: off|safe|aggressive`: this request's compression level.
struct CacheControls: Sendable {
    var noCache = false
    var noStore = false
    var ttl: Double?
    var compression: CompressionLevel?

    init(_ headers: HTTPFields) throws(APIError) {
        for value in headers[values: .cacheControl] {
            for directive in value.split(separator: ",") {
                switch directive.trimmingCharacters(in: " ").lowercased() {
                case "no-cache": noCache = true
                case "no-store": noStore = true
                default: break
                }
            }
        }
        if let text = headers[CachetteHeaders.ttl] {
            guard let seconds = Int(text.trimmingCharacters(in: " ")), seconds >= 0 else {
                throw APIError(
                    status: .badRequest,
                    message: "x-cachette-ttl must be a whole number of seconds, got \"\(text)\".",
                    code: "invalid_cache_ttl", param: "x-cachette-ttl"
                )
            }
            ttl = Double(seconds)
            if seconds == 0 { noStore = true }
        }
        if let text = headers[CachetteHeaders.compress] {
            guard let level = CompressionLevel(rawValue: text.trimmingCharacters(in: " ").lowercased()) else {
                throw APIError(
                    status: .badRequest,
                    message: "x-cachette-compress must be one of \(CompressionLevel.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\".",
                    code: "invalid_compression_level", param: "x-cachette-compress"
                )
            }
            compression = level
        }
    }
}

import CachetteCore
import HTTPTypes

/// Per-request cache controls.
/// - `Cache-Control: no-cache`: skip the lookup, still store the fresh answer.
/// - `Cache-Control: no-store`: do not store the answer.
/// - `x-cachette-ttl: SECONDS`: this answer's lifetime; 0 means do not store.
/// - `x-cachette-compress: off|safe|aggressive`: this request's compression level.
/// - `Cache-Control: stale-if-error=N`: serve an answer up to N seconds past its TTL
///   when the upstream fails (RFC 5861); 0 turns it off.
struct CacheControls: Sendable {
    var noCache = false
    var noStore = false
    var staleIfError: Double?
    var ttl: Double?
    var compression: CompressionLevel?
    /// `x-cachette-prompt-cache`: this request's `prompt_cache` mode.
    var promptCache: CachetteConfig.PromptCacheMode?

    init(_ headers: HTTPFields) throws(APIError) {
        for value in headers[values: .cacheControl] {
            for directive in value.split(separator: ",") {
                let directive = directive.trimmingCharacters(in: " ").lowercased()
                switch directive {
                case "no-cache": noCache = true
                case "no-store": noStore = true
                default:
                    guard directive.hasPrefix("stale-if-error=") else { break }
                    let value = directive.dropFirst("stale-if-error=".count)
                    guard let seconds = Int(value), seconds >= 0 else {
                        throw APIError(
                            status: .badRequest, message: "Cache-Control: stale-if-error must be a whole number of seconds, got \"\(value)\".",
                            code: "invalid_cache_control", param: "cache-control"
                        )
                    }
                    staleIfError = Double(seconds)
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
                    message:
                        "x-cachette-compress must be one of \(CompressionLevel.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\".",
                    code: "invalid_compression_level", param: "x-cachette-compress"
                )
            }
            compression = level
        }
        if let text = headers[CachetteHeaders.promptCache] {
            guard let mode = CachetteConfig.PromptCacheMode(rawValue: text.trimmingCharacters(in: " ").lowercased()) else {
                throw APIError(
                    status: .badRequest, message: "x-cachette-prompt-cache must be auto or off, got \"\(text)\".",
                    code: "invalid_prompt_cache", param: "x-cachette-prompt-cache")
            }
            promptCache = mode
        }
    }
}

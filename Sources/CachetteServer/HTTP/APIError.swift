import CachetteCore
import Hummingbird
import NIOCore

/// An error answered in OpenAI's shape, `{"error":{"message","type","code","param"}}`, with
/// Anthropic's `"type":"error"` beside it so either SDK reads it.
package struct APIError: Error, HTTPResponseError, Sendable {
    package let status: HTTPResponse.Status
    package let message: String
    package let type: String
    package let code: String
    package let param: String?

    package init(status: HTTPResponse.Status, message: String, type: String = "invalid_request_error", code: String, param: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
    }

    package static func badRequest(_ invalid: InvalidRequest) -> APIError {
        APIError(status: .badRequest, message: invalid.message, code: invalid.code, param: invalid.param)
    }

    /// - Parameter setting: the setting that sets `limit`.
    package static func tooLarge(limit: Int, setting: String = "server.max_body_bytes") -> APIError {
        APIError(
            status: .contentTooLarge,
            message: "The request body is larger than the \(limit)-byte limit (\(setting)).",
            code: "request_too_large"
        )
    }

    package static func notFound(method: HTTPRequest.Method, path: String) -> APIError {
        APIError(status: .notFound, message: "Unknown path: \(method.rawValue) \(path)", code: "not_found")
    }

    package static func noRoute(model: String) -> APIError {
        APIError(
            status: .notFound,
            message: "No upstream serves the model \"\(model)\": no entry of upstreams matches it and there is no default entry.",
            code: "model_not_found", param: "model"
        )
    }

    /// A request whose model routes to an upstream of the other format, where no
    /// translation exists (only chat completions translate to Anthropic's).
    package static func needsTranslation(route: String, path: String) -> APIError {
        APIError(
            status: .badRequest,
            message:
                "The model routes to upstream \"\(route)\", which speaks another API format; \(path) requests cannot be translated for it. Route the model to an upstream of the request's format.",
            code: "unsupported_upstream_format", param: "model"
        )
    }

    /// `cache.mode: offline` and nothing stored for the request.
    package static func offlineMiss(key: CacheKey) -> APIError {
        APIError(
            status: .serviceUnavailable,
            message:
                "Offline (cache.mode: offline) and nothing is cached for this request (key \(key.hex)). Record it online, then export and import the cache.",
            type: "cache_miss", code: "cache_miss_offline"
        )
    }

    /// `cache.mode: offline`: a path Cachette does not cache cannot be answered.
    package static func offline(path: String) -> APIError {
        APIError(
            status: .serviceUnavailable, message: "Offline (cache.mode: offline): \(path) is not cached, and no upstream is called.",
            type: "cache_miss", code: "offline"
        )
    }

    /// A 2xx answer that cannot be relayed faithfully (it cannot be translated).
    package static func upstreamInvalid(_ detail: String) -> APIError {
        APIError(
            status: .badGateway, message: "The upstream API sent an invalid answer: \(detail)", type: "upstream_error",
            code: "upstream_invalid_response")
    }

    package var body: ByteBuffer {
        let error: JSONValue = .object([
            "message": .string(message),
            "type": .string(type),
            "param": param.map(JSONValue.string) ?? .null,
            "code": .string(code),
        ])
        // The top-level "type" makes the same body Anthropic's error shape too, for /v1/messages clients.
        return ByteBuffer(bytes: JSONValue.object(["type": .string("error"), "error": error]).serialized())
    }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        response
    }

    package var response: Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }
}

extension APIError {
    /// `/v1/v1/…`: the client's base URL already ended in `/v1`, and the client added it again.
    static func doubledVersion(_ path: String) -> APIError {
        APIError(
            status: .notFound,
            message:
                "\(path) names /v1 twice: this client adds /v1 itself, so give it the base URL without it (http://localhost:8766 for Anthropic's SDK).",
            code: "doubled_v1_path")
    }
}

import Hummingbird
import Logging
import NIOCore

/// Turns every failure, including unknown paths and oversized bodies, into OpenAI's
/// error shape, so clients and SDKs parse our errors like the upstream's.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch is NIOTooManyBytesError {
            return APIError.tooLarge(limit: maxBodyBytes).response
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: return APIError.notFound(method: request.method, path: request.uri.path).response
            case .contentTooLarge: return APIError.tooLarge(limit: maxBodyBytes).response
            default:
                return APIError(status: error.status, message: error.body ?? error.status.reasonPhrase, code: "http_\(error.status.code)").response
            }
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            return APIError(status: .internalServerError, message: "Internal error in the sidecar.", type: "server_error", code: "internal_error")
                .response
        }
    }
}

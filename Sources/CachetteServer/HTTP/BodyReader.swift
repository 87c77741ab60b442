import Hummingbird
import NIOCore

/// Reads a whole request body, up to a limit, with one mapping of what can go wrong.
enum BodyReader {
    /// - Parameter setting: the setting that sets `limit`, named in the 413.
    static func read(_ request: Request, limit: Int, setting: String = "server.max_body_bytes") async throws(APIError) -> ByteBuffer {
        // A declared oversize body is refused before any of it is read.
        if let declared = request.headers[.contentLength].flatMap(Int64.init), declared > Int64(limit) {
            throw APIError.tooLarge(limit: limit, setting: setting)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge(limit: limit, setting: setting)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(status: .badRequest, message: "The request body could not be read.", code: "invalid_request_body")
        }
    }
}

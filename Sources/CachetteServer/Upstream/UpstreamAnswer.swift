import Hummingbird
import NIOCore

/// A complete, non-streamed upstream answer.
struct UpstreamAnswer: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: ByteBuffer

    var isSuccess: Bool { (200..<300).contains(status.code) }
    var contentType: String { headers[.contentType] ?? "application/json" }
}

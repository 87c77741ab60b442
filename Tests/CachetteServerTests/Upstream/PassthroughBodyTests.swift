import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite("Passthrough bodies")
struct PassthroughBodyTests {
    @Test("a chunked request body without Content-Length reaches the upstream whole")
    func chunkedUpload() async throws {
        try await Harness.run { h in
            let chunks = [#"{"purpose":"batch","#, #""data":"streamed"}"#].map { ByteBuffer(string: $0) }
            let request = h.clientRequest("/v1/files", .stream(chunks.async, length: .unknown))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "x-cache") == "BYPASS")
            #expect(h.upstream.lastBody == #"{"purpose":"batch","data":"streamed"}"#)
            #expect(h.upstream.calls(to: "/v1/files") == 1)
        }
    }
}

extension Array where Element: Sendable {
    /// The elements as an AsyncSequence, for streamed request bodies.
    var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}

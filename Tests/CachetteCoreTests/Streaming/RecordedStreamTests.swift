@testable import CachetteCore
import NIOCore
import Synchronization
import Testing

@Suite("Recorded stream format")
struct RecordedStreamTests {
    @Test("a recording encodes and decodes exactly, and damaged input is refused")
    func roundTrip() throws {
        var stream = RecordedStream()
        stream.append(Array("data: a\n\n".utf8))
        stream.append(Array("data: u\n\n".utf8), isUsage: true)
        stream.append(Array("data: [DONE]\n\n".utf8))
        let decoded = try RecordedStream(decoding: stream.encoded())
        #expect(decoded == stream)
        #expect(decoded.usageEvent == 1)
        #expect(String(buffer: decoded.replay(includeUsage: false)) == "data: a\n\ndata: [DONE]\n\n")
        #expect(String(buffer: decoded.replay(includeUsage: true)) == "data: a\n\ndata: u\n\ndata: [DONE]\n\n")
        #expect(try RecordedStream(decoding: RecordedStream().encoded()).count == 0)

        var truncated = stream.encoded()
        truncated.moveWriterIndex(to: truncated.writerIndex - 1)
        #expect(throws: RecordedStream.FormatError.self) { try RecordedStream(decoding: truncated) }
        #expect(throws: RecordedStream.FormatError.self) { try RecordedStream(decoding: ByteBuffer(string: "XXXX")) }
    }
}

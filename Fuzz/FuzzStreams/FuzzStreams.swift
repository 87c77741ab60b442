import CachetteCore
import NIOCore

/// The SSE parser and every dialect's recorder and accumulator (OpenAI, Anthropic,
/// Responses), fed the input in pieces whose sizes come from the input's first byte;
/// then what was kept, replayed, and its answer streamed again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStreams(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let piece = Int(data[0]) % 64 + 1
    let bytes = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let dialects: [any StreamDialect.Type] = [OpenAIDialect.self, AnthropicDialect.self, ResponsesDialect.self]
    for dialect in dialects {
        var recorder = StreamRecorder(limit: 64 << 10, dialect: dialect)
        var relayed = 0
        var start = 0
        while start < bytes.count {
            let end = min(start + piece, bytes.count)
            for event in recorder.feed(ByteBuffer(bytes: bytes[start..<end])) { relayed += event.bytes.readableBytes }
            start = end
        }
        if case .complete(let recording?, let answer?, _) = recorder.end() {
            _ = recording.replay(includeUsage: false)
            if let decoded = try? RecordedStream(decoding: recording.encoded()), decoded != recording { fatalError("recording round trip") }
            _ = dialect.events(answering: answer, includeUsage: true)
        }
        if relayed > bytes.count { fatalError("relayed more bytes than arrived") }
    }
    return 0
}

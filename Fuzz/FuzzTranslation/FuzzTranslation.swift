import CachetteCore
import NIOCore

/// Request, answer, error and stream translation between OpenAI chat and Anthropic
/// messages, on any JSON the input parses to (and the raw input as a stream).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTranslation(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeRawBufferPointer(start: data, count: size)
    if let value = try? JSONValue.parse(body) {
        _ = try? MessagesRequestTranslator.translate(value)
        _ = MessagesAnswerTranslator.completion(value, created: 0).serialized()
        _ = MessagesAnswerTranslator.error(value)
        _ = MessagesAnswerTranslator.usage(value)
    }
    var stream = MessagesStreamTranslator(created: 0)
    let half = size / 2
    _ = stream.feed(ByteBuffer(bytes: UnsafeRawBufferPointer(start: data, count: half)))
    _ = stream.feed(ByteBuffer(bytes: UnsafeRawBufferPointer(start: data + half, count: size - half)))
    return 0
}

import CachetteCore
import NIOCore

/// Prompt-cache steering with no minimum, so every block can be marked; its memory
/// carries over from input to input, as it does between requests.
let steering: PromptCacheSteering = {
    var settings = PromptCacheSteering.Settings()
    settings.minimums = []
    settings.defaultMinimum = 1
    settings.marginPercent = 0
    settings.maxPrefixes = 256
    return PromptCacheSteering(settings: settings)
}()

/// Request, answer, error and stream translation between OpenAI chat and Anthropic
/// messages, on any JSON the input parses to (and the raw input as a stream); steering
/// on the raw input as a Messages request, twice (the second time it is remembered),
/// and on its translation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTranslation(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = UnsafeRawBufferPointer(start: data, count: size)
    let tokenizer = try? Tokenizer.shared(.o200k)
    for _ in 0..<2 { _ = steering.steer(body, credential: "fuzz", model: "claude-fuzz", tokenizer: tokenizer, now: 0) }
    if let value = try? JSONValue.parse(body) {
        if let translated = try? MessagesRequestTranslator.translate(value) {
            _ = translated.serialized().withUnsafeBytes { steering.steer($0, credential: "fuzz", model: "claude-fuzz", tokenizer: tokenizer, now: 1) }
        }
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

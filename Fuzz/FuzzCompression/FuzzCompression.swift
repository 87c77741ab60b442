import CachetteCore

nonisolated(unsafe) let tokenizer = try? Tokenizer.shared(.o200k)

/// Prompt compression at both levels, on messages, a prompt or a Responses request
/// parsed from the input, and on the raw input as one user message and as a tool output.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCompression(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let tokenizer else { fatalError("vocabulary missing") }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var messages: [JSONValue] = [
        .object(["role": .string("user"), "content": .string(text)]),
        .object(["role": .string("tool"), "tool_call_id": .string("t"), "content": .string(text)]),
    ]
    if let parsed = try? JSONValue.parse(UnsafeRawBufferPointer(start: data, count: size)), let list = parsed["messages"]?.arrayValue {
        messages += list
    }
    for level in [CompressionLevel.safe, .aggressive] {
        let compressor = PromptCompressor(
            options: CompressionOptions(level: level, dedupMinTokens: 8, maxToolOutputTokens: 256), tokenizer: tokenizer)
        let (_, report) = compressor.compress(messages: messages)
        if report.tally.after > report.tally.before { fatalError("compression grew the prompt") }
        _ = compressor.compress(prompt: text)
        if var request = try? JSONValue.parse(UnsafeRawBufferPointer(start: data, count: size)),
            let tally = compressor.compress(responsesRequest: &request)?.tally, tally.after > tally.before
        {
            fatalError("compression grew a Responses input")
        }
    }
    return 0
}

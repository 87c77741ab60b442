@testable import CachetteCore
import Testing

/// The compression suites' tokenizer, compressor and messages.
let tokenizer = try! Tokenizer.shared(.o200k)

func compressor(_ options: CompressionOptions = CompressionOptions()) -> PromptCompressor {
    PromptCompressor(options: options, tokenizer: tokenizer)
}

func message(_ role: String, _ content: String) -> JSONValue {
    .object(["role": .string(role), "content": .string(content)])
}

import CachetteCore

nonisolated(unsafe) let tokenizers = [try? Tokenizer.shared(.cl100k), try? Tokenizer.shared(.o200k)]

/// Both encodings on any bytes: encoding then decoding gives the text back, and the
/// count agrees with the encoding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for case let tokenizer? in tokenizers {
        let tokens = tokenizer.encode(text)
        if tokenizer.decode(tokens) != text { fatalError("round trip") }
        if tokenizer.count(text) != tokens.count { fatalError("count") }
    }
    return 0
}

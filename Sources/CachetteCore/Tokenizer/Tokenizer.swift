import Synchronization

/// An exact, tiktoken-compatible tokenizer for one encoding. Special-token strings
/// such as `<|endoftext|>` are counted as the plain text they are (tiktoken's
/// `encode_ordinary`), which is what a prompt containing them costs.
public final class Tokenizer: Sendable {
    public let encoding: TokenEncoding
    let vocabulary: Vocabulary

    public init(encoding: TokenEncoding, vocabulary: Vocabulary) {
        self.encoding = encoding
        self.vocabulary = vocabulary
    }

    private static let loaded = Mutex<[TokenEncoding: Tokenizer]>([:])

    /// The shared tokenizer for an encoding, loaded (and checked) on first use.
    public static func shared(_ encoding: TokenEncoding) throws(Vocabulary.LoadError) -> Tokenizer {
        if let ready = loaded.withLock({ $0[encoding] }) { return ready }
        let tokenizer = Tokenizer(encoding: encoding, vocabulary: try Vocabulary.load(encoding))
        return loaded.withLock { table in
            if let raced = table[encoding] { return raced }
            table[encoding] = tokenizer
            return tokenizer
        }
    }

    package func encode(_ text: String) -> [Int] {
        var copy = text
        return copy.withUTF8 { bytes in encode(utf8: bytes).map(Int.init) }
    }

    public func count(_ text: String) -> Int {
        var copy = text
        return copy.withUTF8 { bytes in encode(utf8: bytes).count }
    }

    /// Token ranks of valid UTF-8 text.
    package func encode(utf8 bytes: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(bytes.count / 3)
        let pieces = PreTokenizer(bytes)
        pieces.split(encoding) { start, end in
            BytePairEncoder.encode(UnsafeBufferPointer(rebasing: bytes[start..<end]), vocabulary, into: &out)
        }
        return out
    }

    /// The text of a token sequence (lossy only where tokens split a character).
    package func decode(_ tokens: [Int]) -> String {
        var bytes: [UInt8] = []
        for token in tokens { bytes += vocabulary.bytes(of: token) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

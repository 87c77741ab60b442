import CXXHash

/// Exact token counts of many similar texts (a message and its rewrites), counting each
/// distinct line once.
///
/// A text splits into independent pieces wherever a newline is followed by a printable
/// ASCII byte other than `/`: no pre-tokenizer piece of cl100k or o200k crosses such a
/// point (letters, numbers and contractions never take a newline; whitespace pieces
/// stop at non-whitespace; o200k's punctuation piece takes trailing newlines and
/// slashes, hence the `/`). Lines of `longLine` bytes or more also split before a space
/// that follows a printable ASCII byte and precedes an ASCII letter: no pre-tokenizer
/// piece takes a space after a non-space, so a new piece starts there too. So a text's
/// count is the sum of its pieces' counts, and a rewrite that changes a few lines, or
/// the end of one long line, costs only those pieces.
package final class TokenCountMemo {
    public let tokenizer: Tokenizer
    private var counts: [Piece: Int] = [:]

    private struct Piece: Hashable {
        let low: UInt64
        let high: UInt64
        let length: Int
    }

    package init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
    }

    public func count(_ text: String) -> Int {
        var copy = text
        return copy.withUTF8 { count(utf8: $0) }
    }

    public func count(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var total = 0
        Self.forEachPiece(bytes) { range in total += piece(UnsafeBufferPointer(rebasing: bytes[range])) }
        return total
    }

    /// The tokens of the pieces only `a` has and of those only `b` has. Pieces both
    /// share cancel without being counted, so `added - removed` is `count(b) - count(a)`
    /// for the price of what changed between them.
    package func difference(from a: String, to b: String) -> (removed: Int, added: Int) {
        var a = a
        var b = b
        return a.withUTF8 { a in b.withUTF8 { b in difference(from: a, to: b) } }
    }

    func difference(from a: UnsafeBufferPointer<UInt8>, to b: UnsafeBufferPointer<UInt8>) -> (removed: Int, added: Int) {
        // Equal keys mean equal bytes, as for the memo itself: one range stands for all.
        var unmatched: [Piece: (range: Range<Int>, times: Int)] = [:]
        Self.forEachPiece(a) { range in
            let key = Self.key(UnsafeBufferPointer(rebasing: a[range]))
            unmatched[key, default: (range, 0)].times += 1
        }
        var added = 0
        Self.forEachPiece(b) { range in
            let bytes = UnsafeBufferPointer(rebasing: b[range])
            let key = Self.key(bytes)
            if let match = unmatched[key], match.times > 0 {
                unmatched[key]?.times -= 1
            } else {
                added += piece(bytes, key: key)
            }
        }
        var removed = 0
        for (key, match) in unmatched where match.times > 0 {
            removed += match.times * piece(UnsafeBufferPointer(rebasing: a[match.range]), key: key)
        }
        return (removed, added)
    }

    /// The independent pieces of a text (byte ranges; each but the last ends with a
    /// newline) and their token counts.
    package func pieces(utf8 bytes: UnsafeBufferPointer<UInt8>) -> [(range: Range<Int>, tokens: Int)] {
        var out: [(range: Range<Int>, tokens: Int)] = []
        Self.forEachPiece(bytes) { range in out.append((range, piece(UnsafeBufferPointer(rebasing: bytes[range])))) }
        return out
    }

    private static func forEachPiece(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        var start = 0
        var i = 0
        let n = bytes.count
        while i < n {
            if bytes[i] == UInt8(ascii: "\n"), i + 1 < n, startsPiece(bytes[i + 1]) {
                body(start..<(i + 1))
                start = i + 1
            } else if bytes[i] == UInt8(ascii: " "), i - start >= longLine, i + 1 < n, isASCIILetter(bytes[i + 1]),
                bytes[i - 1] > 0x20, bytes[i - 1] < 0x7F
            {
                body(start..<i)
                start = i
            }
            i += 1
        }
        if start < n { body(start..<n) }
    }

    @inline(__always)
    static func startsPiece(_ b: UInt8) -> Bool { b > 0x20 && b < 0x7F && b != UInt8(ascii: "/") }

    /// Long enough that hashing and looking up a piece costs little beside counting it.
    static let longLine = 256

    @inline(__always)
    private static func isASCIILetter(_ b: UInt8) -> Bool { (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") }

    private static func key(_ bytes: UnsafeBufferPointer<UInt8>) -> Piece {
        let hash = XXH3_128bits(bytes.baseAddress, bytes.count)
        return Piece(low: hash.low64, high: hash.high64, length: bytes.count)
    }

    private func piece(_ bytes: UnsafeBufferPointer<UInt8>, key: Piece? = nil) -> Int {
        let key = key ?? Self.key(bytes)
        if let known = counts[key] { return known }
        let n = tokenizer.encode(utf8: bytes).count
        counts[key] = n
        return n
    }
}

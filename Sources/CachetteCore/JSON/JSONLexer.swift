/// Byte-level JSON lexing shared by the canonicalizer and the value parser.
/// Works on a borrowed buffer so neither caller copies the body into a `String`.
struct JSONLexer {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    var atEnd: Bool { index >= bytes.count }

    @inline(__always)
    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    func error(_ reason: String) -> JSONError { JSONError(reason, at: index) }

    mutating func expect(_ byte: UInt8, _ what: String) throws(JSONError) {
        guard index < bytes.count, bytes[index] == byte else {
            throw error(atEnd ? "unexpected end of input, expected \(what)" : "expected \(what)")
        }
        index += 1
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of input") }
        let start = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] {
            throw error("invalid literal")
        }
        index += count
    }

    // MARK: Numbers

    /// Validates a number against the JSON grammar and returns its byte range.
    mutating func scanNumber() throws(JSONError) -> Range<Int> {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), JSONLexer.isDigit(first) else { throw error("invalid number") }
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            while let d = peek(), JSONLexer.isDigit(d) { index += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let d = peek(), JSONLexer.isDigit(d) else { throw error("invalid number: digit expected after '.'") }
            while let d = peek(), JSONLexer.isDigit(d) { index += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            index += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { index += 1 }
            guard let d = peek(), JSONLexer.isDigit(d) else { throw error("invalid number: digit expected in exponent") }
            while let d = peek(), JSONLexer.isDigit(d) { index += 1 }
        }
        return start..<index
    }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}

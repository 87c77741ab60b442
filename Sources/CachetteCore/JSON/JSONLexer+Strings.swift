/// Strings: scanned and validated in place, unescaped only when asked.
extension JSONLexer {
    /// Reads a string (cursor on the opening quote) and appends its canonical encoding,
    /// quotes included: raw UTF-8 except `"`, `\` and control characters, which get the
    /// shortest escape. Two spellings of one string therefore give the same bytes.
    mutating func readCanonicalString(into out: inout [UInt8]) throws(JSONError) {
        try readString(into: &out, decoded: false)
    }

    /// Reads a string and appends its decoded UTF-8 bytes (no quotes, no escapes).
    mutating func readDecodedString(into out: inout [UInt8]) throws(JSONError) {
        try readString(into: &out, decoded: true)
    }

    private mutating func readString(into out: inout [UInt8], decoded: Bool) throws(JSONError) {
        try expect(UInt8(ascii: "\""), "'\"'")
        if !decoded { out.append(UInt8(ascii: "\"")) }
        while true {
            // Copy the longest run that needs no attention in one go.
            let runStart = index
            index = plainRunEnd(from: index)
            if index > runStart {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            }
            guard index < bytes.count else { throw error("unterminated string") }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                if !decoded { out.append(UInt8(ascii: "\"")) }
                return
            }
            if b < 0x20 { throw error("control character in string") }
            index += 1
            try readEscape(into: &out, decoded: decoded)
        }
    }

    /// Cursor just past a backslash. Appends either the canonical escape or the decoded bytes.
    private mutating func readEscape(into out: inout [UInt8], decoded: Bool) throws(JSONError) {
        guard index < bytes.count else { throw error("unterminated escape") }
        let c = bytes[index]
        index += 1
        let scalar: UInt32
        switch c {
        case UInt8(ascii: "\""): scalar = 0x22
        case UInt8(ascii: "\\"): scalar = 0x5C
        case UInt8(ascii: "/"): scalar = 0x2F
        case UInt8(ascii: "b"): scalar = 0x08
        case UInt8(ascii: "f"): scalar = 0x0C
        case UInt8(ascii: "n"): scalar = 0x0A
        case UInt8(ascii: "r"): scalar = 0x0D
        case UInt8(ascii: "t"): scalar = 0x09
        case UInt8(ascii: "u"):
            let unit = try readHex4()
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate pairs with a following \uDC00-\uDFFF, if there is one.
                if index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                    let save = index
                    index += 2
                    let low = try readHex4()
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        break
                    }
                    index = save
                }
                appendLoneSurrogate(unit, into: &out, decoded: decoded)
                return
            }
            if (0xDC00...0xDFFF).contains(unit) {
                appendLoneSurrogate(unit, into: &out, decoded: decoded)
                return
            }
            scalar = unit
        default:
            index -= 1
            throw error("invalid escape")
        }
        if decoded {
            JSONLexer.appendUTF8(scalar, into: &out)
        } else {
            JSONLexer.appendCanonical(scalar: scalar, into: &out)
        }
    }

    /// A lone surrogate cannot be UTF-8; keep it as its escape so it stays distinct.
    private func appendLoneSurrogate(_ unit: UInt32, into out: inout [UInt8], decoded: Bool) {
        if decoded {
            JSONLexer.appendUTF8(0xFFFD, into: &out)
        } else {
            JSONLexer.appendUnicodeEscape(unit, into: &out)
        }
    }

    private mutating func readHex4() throws(JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let h = bytes[index]
            let digit: UInt32
            switch h {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(h - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(h - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(h - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    static func appendCanonical(scalar: UInt32, into out: inout [UInt8]) {
        let escaped: UInt8
        switch scalar {
        case 0x22: escaped = 0x22
        case 0x5C: escaped = 0x5C
        case 0x08: escaped = UInt8(ascii: "b")
        case 0x0C: escaped = UInt8(ascii: "f")
        case 0x0A: escaped = UInt8(ascii: "n")
        case 0x0D: escaped = UInt8(ascii: "r")
        case 0x09: escaped = UInt8(ascii: "t")
        case 0..<0x20: return appendUnicodeEscape(scalar, into: &out)
        default: return appendUTF8(scalar, into: &out)
        }
        // Two appends, not an array literal: a newline in a prompt must not allocate.
        out.append(0x5C)
        out.append(escaped)
    }

    static func appendUnicodeEscape(_ unit: UInt32, into out: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        out.append(contentsOf: [0x5C, UInt8(ascii: "u")])
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(hex[Int((unit >> UInt32(shift)) & 0xF)])
        }
    }

    static func appendUTF8(_ scalar: UInt32, into out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (scalar >> 6)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (scalar >> 12)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (scalar >> 18)))
            out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    /// Validates and steps over one value without building anything.
    mutating func skipValue(depth: Int = 0) throws(JSONError) {
        guard depth <= CanonicalJSONWriter.maxDepth else { throw error("nesting too deep") }
        guard let byte = peek() else { throw error("unexpected end of input, expected a value") }
        switch byte {
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            skipWhitespace()
            if peek() == close {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                if close == UInt8(ascii: "}") {
                    try skipString()
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"), "':'")
                    skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek() == close {
                    index += 1
                    return
                }
                try expect(UInt8(ascii: ","), "','")
            }
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
        default: throw error("unexpected character")
        }
    }

    private mutating func skipString() throws(JSONError) {
        try expect(UInt8(ascii: "\""), "'\"'")
        while true {
            index = plainRunEnd(from: index)
            guard index < bytes.count else { throw error("unterminated string") }
            let b = bytes[index]
            index += 1
            if b == UInt8(ascii: "\"") { return }
            if b == UInt8(ascii: "\\") { index += 1 } else { throw error("control character in string") }
        }
    }

    /// The index of the first byte from `start` that is `"`, `\` or a control character,
    /// or the end. Strings are most of a request's bytes: eight are tested at a time.
    @inline(__always)
    func plainRunEnd(from start: Int) -> Int {
        var i = start
        if let base = bytes.baseAddress {
            while i + 8 <= bytes.count, !Self.mayNeedAttention(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) {
                i += 8
            }
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { return i }
            i += 1
        }
        return i
    }

    /// Whether any of the word's bytes is `"`, `\` or below 0x20. `(x - 0x01…) & ~x & 0x80…`
    /// is non-zero exactly when a byte of `x` is zero, and `(w - 0x20…) & ~w & 0x80…`
    /// exactly when a byte of `w` is below 0x20.
    @inline(__always)
    static func mayNeedAttention(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5C)
        let found = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((w &- ones &* 0x20) & ~w)
        return found & (ones &* 0x80) != 0
    }
}

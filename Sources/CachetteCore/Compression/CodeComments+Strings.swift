/// Strings and character literals: what the lexer copies untouched, comment markers and all.
extension CodeComments.Lexer {
    func opensString(_ form: CodeComments.StringForm) -> Bool {
        guard CodeComments.matches(code, i, form.open) else { return false }
        if form.atTokenStart || (syntax.quotesNeedBoundary && form.open.count == 1) {
            if let before = previous(), CodeComments.isWordByte(before) { return false }
        }
        return true
    }

    mutating func copyString(_ form: CodeComments.StringForm) -> Bool {
        let start = i
        i += form.open.count
        while i < code.count {
            if form.escapes, code[i] == UInt8(ascii: "\\") {
                if syntax.interpolation, i + 1 < code.count, code[i + 1] == UInt8(ascii: "(") {
                    guard skipInterpolation() else { return false }
                    continue
                }
                i += 2
                continue
            }
            if CodeComments.matches(code, i, form.close) {
                i += form.close.count
                out.append(contentsOf: code[start..<i])
                line += code[start..<i].lazy.filter { $0 == UInt8(ascii: "\n") }.count
                return true
            }
            i += 1
        }
        return false
    }

    /// Moves past `\( … )`, whose strings may hold any quote or parenthesis.
    mutating func skipInterpolation() -> Bool {
        i += 2
        var depth = 1
        while i < code.count {
            switch code[i] {
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 {
                    i += 1
                    return true
                }
            case UInt8(ascii: "\""):
                i += 1
                while i < code.count, code[i] != UInt8(ascii: "\"") { i += code[i] == UInt8(ascii: "\\") ? 2 : 1 }
            case UInt8(ascii: "\n"): return false
            default: break
            }
            i += 1
        }
        return false
    }

    /// The end of a character literal starting at `i`, or nil if `'` starts none.
    func charLiteralEnd() -> Int? {
        var j = i + 1
        guard j < code.count else { return nil }
        if code[j] == UInt8(ascii: "\\") {
            j += 2
            let limit = min(code.count, i + 12)
            while j < limit {
                if code[j] == UInt8(ascii: "'") { return j + 1 }
                if code[j] == UInt8(ascii: "\n") { return nil }
                j += 1
            }
            return nil
        }
        // One UTF-8 scalar, then the closing quote.
        j += 1
        while j < code.count, code[j] & 0xC0 == 0x80 { j += 1 }
        return j < code.count && code[j] == UInt8(ascii: "'") ? j + 1 : nil
    }

    // MARK: YAML block scalars
}

/// Splits text into the pieces tiktoken's split regex would find, without a regex
/// engine: the text is classified once (one flag set per Unicode scalar) and each
/// encoding's alternatives are matched by hand, in the regex's order, with the same
/// greedy, possessive and backtracking behaviour.
struct PreTokenizer {
    // Scalar classes.
    static let letter: UInt8 = 1  // \p{L}
    static let number: UInt8 = 2  // \p{N}
    static let upper: UInt8 = 4  // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
    static let lower: UInt8 = 8  // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
    static let space: UInt8 = 16  // \s (White_Space)
    static let newline: UInt8 = 32  // [\r\n]
    static let slash: UInt8 = 64  // "/"

    static func classify(_ scalar: Unicode.Scalar) -> UInt8 {
        var flags: UInt8 = 0
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .titlecaseLetter: flags = letter | upper
        case .lowercaseLetter: flags = letter | lower
        case .modifierLetter, .otherLetter: flags = letter | upper | lower
        case .nonspacingMark, .spacingMark, .enclosingMark: flags = upper | lower
        case .decimalNumber, .letterNumber, .otherNumber: flags = number
        default: break
        }
        if scalar.properties.isWhitespace { flags |= space }
        if scalar == "\r" || scalar == "\n" { flags |= newline }
        if scalar == "/" { flags |= slash }
        return flags
    }

    private static let asciiClasses: [UInt8] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    /// Per scalar: its class, its byte offset (one extra entry: the end), and its ASCII
    /// lowercase (0 for anything else), for the contraction suffixes.
    var classes: [UInt8] = []
    var offsets: [Int32] = []
    var folded: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        classes.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        folded.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            offsets.append(Int32(i))
            if b < 0x80 {
                classes.append(Self.asciiClasses[Int(b)])
                folded.append(b >= 65 && b <= 90 ? b + 32 : b)
                i += 1
                continue
            }
            // The input came from a Swift String, so it is valid UTF-8.
            let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
            var value = UInt32(b) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            for k in 1..<length { value = value << 6 | (UInt32(bytes[i + k]) & 0x3F) }
            classes.append(Unicode.Scalar(value).map(Self.classify) ?? 0)
            folded.append(0)
            i += length
        }
        offsets.append(Int32(bytes.count))
    }

    var count: Int { classes.count }

    @inline(__always) private func has(_ i: Int, _ flag: UInt8) -> Bool { i < classes.count && classes[i] & flag != 0 }
    /// `[^\r\n\p{L}\p{N}]`
    @inline(__always) private func isPrefix(_ i: Int) -> Bool { i < classes.count && classes[i] & (Self.newline | Self.letter | Self.number) == 0 }
    /// `[^\s\p{L}\p{N}]`
    @inline(__always) private func isPunctuation(_ i: Int) -> Bool { i < classes.count && classes[i] & (Self.space | Self.letter | Self.number) == 0 }
    @inline(__always) private func char(_ i: Int) -> UInt8 { i < folded.count ? folded[i] : 0 }

    /// Calls `body` with the byte range of each piece, in order.
    func split(_ encoding: TokenEncoding, _ body: (Int, Int) -> Void) {
        var i = 0
        while i < count {
            let end = encoding == .cl100k ? matchCL100K(at: i) : matchO200K(at: i)
            body(Int(offsets[i]), Int(offsets[end]))
            i = end
        }
    }

    // MARK: cl100k_base
    // '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s

    func matchCL100K(at i: Int) -> Int {
        if char(i) == UInt8(ascii: "'") {
            switch (char(i + 1), char(i + 2)) {
            case (UInt8(ascii: "s"), _), (UInt8(ascii: "d"), _), (UInt8(ascii: "m"), _), (UInt8(ascii: "t"), _): return i + 2
            case (UInt8(ascii: "l"), UInt8(ascii: "l")), (UInt8(ascii: "v"), UInt8(ascii: "e")), (UInt8(ascii: "r"), UInt8(ascii: "e")): return i + 3
            default: break
            }
        }
        // [^\r\n\p{L}\p{N}]?+\p{L}++ : a prefix, once taken, is not given back.
        var j = isPrefix(i) ? i + 1 : i
        if has(j, Self.letter) {
            while has(j, Self.letter) { j += 1 }
            return j
        }
        if has(i, Self.number) {
            j = i
            while j < i + 3 && has(j, Self.number) { j += 1 }
            return j
        }
        if let end = punctuation(at: i, trailing: Self.newline) { return end }
        return whitespace(at: i, endOfText: true)
    }

    // MARK: o200k_base

    func matchO200K(at i: Int) -> Int {
        // [^\r\n\p{L}\p{N}]?U*L+(?i:'s|'t|'re|'ve|'m|'ll|'d)? then ...?U+L*(...)?: the
        // optional prefix is greedy but can be given back, so each is tried with and without.
        if isPrefix(i), let end = casedWord(at: i + 1, upperThenLower: true) { return contraction(at: end) }
        if let end = casedWord(at: i, upperThenLower: true) { return contraction(at: end) }
        if isPrefix(i), let end = casedWord(at: i + 1, upperThenLower: false) { return contraction(at: end) }
        if let end = casedWord(at: i, upperThenLower: false) { return contraction(at: end) }
        if has(i, Self.number) {
            var j = i
            while j < i + 3 && has(j, Self.number) { j += 1 }
            return j
        }
        if let end = punctuation(at: i, trailing: Self.newline | Self.slash) { return end }
        return whitespace(at: i, endOfText: false)
    }

    /// `U*L+` (first form) or `U+L*` (second), as a backtracking regex matches them.
    private func casedWord(at j: Int, upperThenLower: Bool) -> Int? {
        var upperEnd = j
        while has(upperEnd, Self.upper) { upperEnd += 1 }
        if upperThenLower {
            // U* gives back characters until L+ can start: at the end of the run if the
            // next character is lower, else at the last character of the run that is both.
            var k = upperEnd
            if !has(k, Self.lower) {
                k -= 1
                while k >= j && !has(k, Self.lower) { k -= 1 }
                guard k >= j else { return nil }
            }
            while has(k, Self.lower) { k += 1 }
            return k
        }
        guard upperEnd > j else { return nil }
        var k = upperEnd
        while has(k, Self.lower) { k += 1 }
        return k
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)?`
    private func contraction(at i: Int) -> Int {
        guard char(i) == UInt8(ascii: "'") else { return i }
        switch (char(i + 1), char(i + 2)) {
        case (UInt8(ascii: "s"), _), (UInt8(ascii: "t"), _), (UInt8(ascii: "m"), _), (UInt8(ascii: "d"), _): return i + 2
        case (UInt8(ascii: "r"), UInt8(ascii: "e")), (UInt8(ascii: "v"), UInt8(ascii: "e")), (UInt8(ascii: "l"), UInt8(ascii: "l")): return i + 3
        default: return i
        }
    }

    // MARK: Shared alternatives

    /// ` ?[^\s\p{L}\p{N}]+` then any run of `trailing` characters.
    private func punctuation(at i: Int, trailing: UInt8) -> Int? {
        var j = char(i) == UInt8(ascii: " ") && isPunctuation(i + 1) ? i + 1 : i
        guard isPunctuation(j) else { return nil }
        while isPunctuation(j) { j += 1 }
        while has(j, trailing) { j += 1 }
        return j
    }

    /// The whitespace alternatives, at a whitespace character:
    /// cl100k `\s++$|\s*[\r\n]|\s+(?!\S)|\s` (`endOfText`), o200k `\s*[\r\n]+|\s+(?!\S)|\s+`.
    private func whitespace(at i: Int, endOfText: Bool) -> Int {
        var run = i
        while has(run, Self.space) { run += 1 }
        guard run > i else { return i + 1 }  // not reached: every other character matched above
        if endOfText && run == count { return run }  // cl100k's \s++$ comes first
        // \s*[\r\n]: up to the last newline in the run.
        var k = run - 1
        while k >= i && !has(k, Self.newline) { k -= 1 }
        if k >= i { return k + 1 }
        // \s+(?!\S): the whole run at the end of the text, else all but its last character.
        if run == count { return run }
        if run - i >= 2 { return run - 1 }
        return i + 1
    }
}

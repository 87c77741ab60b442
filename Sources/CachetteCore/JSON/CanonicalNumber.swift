/// One spelling per numeric value: `1`, `1.0`, `10e-1` and `0.1E1` all become `1`.
/// The format is ECMAScript's Number-to-string rule applied to the exact decimal,
/// so no precision is lost to binary floating point.
enum CanonicalNumber {
    static func append(_ lexeme: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var i = 0
        let negative = lexeme[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        // Fast path: a plain integer of up to 21 digits is already canonical, except negative zero.
        if lexeme.count - i <= 21,
            !lexeme.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") })
        {
            if negative && lexeme.count == 2 && lexeme[1] == UInt8(ascii: "0") {
                out.append(UInt8(ascii: "0"))
            } else {
                out.append(contentsOf: lexeme)
            }
            return
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(lexeme.count)
        var fractionDigits = 0
        var inFraction = false
        while i < lexeme.count {
            let b = lexeme[i]
            if b == UInt8(ascii: ".") {
                inFraction = true
            } else if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                break
            } else {
                // Leading zeros carry no value.
                if !(digits.isEmpty && b == UInt8(ascii: "0")) { digits.append(b) }
                if inFraction { fractionDigits += 1 }
            }
            i += 1
        }
        var exponent = 0
        if i < lexeme.count {
            i += 1
            var expNegative = false
            if lexeme[i] == UInt8(ascii: "-") || lexeme[i] == UInt8(ascii: "+") {
                expNegative = lexeme[i] == UInt8(ascii: "-")
                i += 1
            }
            while i < lexeme.count {
                // Saturate: beyond this every value is just "huge" or "tiny", and stays distinct.
                if exponent < 1_000_000_000_000 { exponent = exponent * 10 + Int(lexeme[i] - UInt8(ascii: "0")) }
                i += 1
            }
            if expNegative { exponent = -exponent }
        }
        while let last = digits.last, last == UInt8(ascii: "0") {
            digits.removeLast()
            exponent += 1
        }
        if digits.isEmpty {
            out.append(UInt8(ascii: "0"))
            return
        }
        if negative { out.append(UInt8(ascii: "-")) }
        let n = digits.count
        // value = 0.d1d2…dn × 10^point
        let point = n + exponent - fractionDigits
        if n <= point && point <= 21 {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: point - n))
        } else if 0 < point && point <= 21 {
            out.append(contentsOf: digits[0..<point])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[point...])
        } else if -6 < point && point <= 0 {
            out.append(contentsOf: [UInt8(ascii: "0"), UInt8(ascii: ".")])
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -point))
            out.append(contentsOf: digits)
        } else {
            out.append(digits[0])
            if n > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            let e = point - 1
            out.append(UInt8(ascii: "e"))
            out.append(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            out.append(contentsOf: String(abs(e)).utf8)
        }
    }
}

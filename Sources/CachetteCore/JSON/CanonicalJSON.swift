/// Writes JSON in one canonical form: object keys sorted by their canonical bytes
/// (the last of duplicate keys wins, as in most parsers), no insignificant whitespace,
/// strings with the minimal escapes, numbers in a single decimal spelling.
/// Two documents that parse to the same value produce identical bytes.
public struct CanonicalJSONWriter {
    public static let maxDepth = 256

    var lexer: JSONLexer
    /// Canonical output. Callers may put a prefix in it before writing.
    public internal(set) var output: [UInt8]
    /// Member spans of the objects being written, three ints per member: start, key end, end.
    private var spans: [Int] = []
    private var scratch: [UInt8] = []
    /// Reused by every reordered object, so reordering allocates once per document.
    private var order: [Int] = []
    private var kept: [Int] = []

    init(lexer: JSONLexer, output: [UInt8]) {
        self.lexer = lexer
        self.output = output
    }

    /// The canonical bytes of a whole JSON document.
    public static func canonicalize(_ document: UnsafeRawBufferPointer) throws(JSONError) -> [UInt8] {
        let bytes = document.bindMemory(to: UInt8.self)
        var writer = CanonicalJSONWriter(lexer: JSONLexer(bytes), output: [])
        writer.output.reserveCapacity(document.count)
        writer.lexer.skipWhitespace()
        try writer.writeValue(depth: 0)
        writer.lexer.skipWhitespace()
        guard writer.lexer.atEnd else { throw writer.lexer.error("unexpected data after the JSON value") }
        return writer.output
    }

    public static func canonicalize(_ document: [UInt8]) throws(JSONError) -> [UInt8] {
        // Through Result, so the error keeps its type across withUnsafeBytes.
        try document.withUnsafeBytes { raw in Result { () throws(JSONError) in try canonicalize(raw) } }.get()
    }

    // MARK: Values

    mutating func writeValue(depth: Int) throws(JSONError) {
        guard let byte = lexer.peek() else { throw lexer.error("unexpected end of input, expected a value") }
        switch byte {
        case UInt8(ascii: "{"): try writeObject(depth: depth + 1)
        case UInt8(ascii: "["): try writeArray(depth: depth + 1)
        case UInt8(ascii: "\""): try lexer.readCanonicalString(into: &output)
        case UInt8(ascii: "t"):
            try lexer.expectLiteral("true")
            output.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        case UInt8(ascii: "f"):
            try lexer.expectLiteral("false")
            output.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        case UInt8(ascii: "n"):
            try lexer.expectLiteral("null")
            output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let range = try lexer.scanNumber()
            CanonicalNumber.append(UnsafeBufferPointer(rebasing: lexer.bytes[range]), into: &output)
        default:
            throw lexer.error("unexpected character")
        }
    }

    private mutating func writeArray(depth: Int) throws(JSONError) {
        guard depth <= Self.maxDepth else { throw lexer.error("nesting deeper than \(Self.maxDepth)") }
        try lexer.expect(UInt8(ascii: "["), "'['")
        output.append(UInt8(ascii: "["))
        lexer.skipWhitespace()
        if lexer.peek() == UInt8(ascii: "]") {
            lexer.index += 1
            output.append(UInt8(ascii: "]"))
            return
        }
        while true {
            lexer.skipWhitespace()
            try writeValue(depth: depth)
            lexer.skipWhitespace()
            guard let next = lexer.peek() else { throw lexer.error("unexpected end of input in array") }
            lexer.index += 1
            if next == UInt8(ascii: "]") { break }
            guard next == UInt8(ascii: ",") else {
                lexer.index -= 1
                throw lexer.error("expected ',' or ']'")
            }
            output.append(UInt8(ascii: ","))
        }
        output.append(UInt8(ascii: "]"))
    }

    private mutating func writeObject(depth: Int) throws(JSONError) {
        guard depth <= Self.maxDepth else { throw lexer.error("nesting deeper than \(Self.maxDepth)") }
        var object = try beginObject()
        while try nextMember(&object) {
            let member = beginMember(object)
            try writeKeyAndValue(depth: depth)
            endMember(member)
        }
        endObject(object)
    }

    // MARK: Object building blocks, also used by RequestKeyer for the top level

    struct ObjectState {
        let outputStart: Int
        let spanBase: Int
        var readAny = false
    }

    struct MemberMark {
        /// Output length before the member and its separator: truncating here drops it.
        let mark: Int
        /// Where the member's key starts.
        let start: Int
    }

    mutating func beginObject() throws(JSONError) -> ObjectState {
        try lexer.expect(UInt8(ascii: "{"), "'{'")
        output.append(UInt8(ascii: "{"))
        return ObjectState(outputStart: output.count, spanBase: spans.count)
    }

    /// Advances to the next member's key; false after the closing brace.
    mutating func nextMember(_ object: inout ObjectState) throws(JSONError) -> Bool {
        lexer.skipWhitespace()
        guard let next = lexer.peek() else { throw lexer.error("unexpected end of input in object") }
        if next == UInt8(ascii: "}") {
            lexer.index += 1
            return false
        }
        if object.readAny {
            guard next == UInt8(ascii: ",") else { throw lexer.error("expected ',' or '}'") }
            lexer.index += 1
            lexer.skipWhitespace()
        }
        object.readAny = true
        guard lexer.peek() == UInt8(ascii: "\"") else { throw lexer.error("expected a string key") }
        return true
    }

    mutating func beginMember(_ object: ObjectState) -> MemberMark {
        let mark = output.count
        if spans.count > object.spanBase { output.append(UInt8(ascii: ",")) }
        return MemberMark(mark: mark, start: output.count)
    }

    /// Writes `"key":value`, leaving the cursor after the value.
    mutating func writeKeyAndValue(depth: Int) throws(JSONError) {
        try lexer.readCanonicalString(into: &output)
        spans.append(output.count)  // the key's end; endMember completes the triple
        lexer.skipWhitespace()
        try lexer.expect(UInt8(ascii: ":"), "':'")
        output.append(UInt8(ascii: ":"))
        lexer.skipWhitespace()
        try writeValue(depth: depth)
    }

    /// The canonical key of the member being written (quotes included).
    func currentKey(_ member: MemberMark) -> ArraySlice<UInt8> {
        output[member.start..<currentKeyEnd]
    }

    /// Where the member being written has its key end; its value follows the colon.
    var currentKeyEnd: Int { spans[spans.count - 1] }

    mutating func endMember(_ member: MemberMark) {
        let keyEnd = spans.removeLast()
        spans.append(member.start)
        spans.append(keyEnd)
        spans.append(output.count)
    }

    /// Forgets the member being written, separator included.
    mutating func dropMember(_ member: MemberMark) {
        spans.removeLast()
        output.removeSubrange(member.mark...)
    }

    mutating func endObject(_ object: ObjectState) {
        let memberCount = (spans.count - object.spanBase) / 3
        defer { spans.removeSubrange(object.spanBase...) }
        if memberCount > 1 && !isStrictlySorted(object, memberCount) {
            rewriteSorted(object, memberCount)
        }
        output.append(UInt8(ascii: "}"))
    }

    private mutating func rewriteSorted(_ object: ObjectState, _ memberCount: Int) {
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: 0..<memberCount)
        if memberCount <= 16 {
            // Insertion sort for the usual small object: no buffer, ties keep input order.
            for i in 1..<memberCount {
                let member = order[i]
                var j = i
                while j > 0, compareKeys(object, order[j - 1], member) > 0 {
                    order[j] = order[j - 1]
                    j -= 1
                }
                order[j] = member
            }
        } else {
            // Large objects (a big logit_bias, a schema) must stay n log n.
            var sorted = order
            sorted.sort { a, b in
                let c = compareKeys(object, a, b)
                return c != 0 ? c < 0 : a < b
            }
            order = sorted
        }
        // Equal keys sit next to each other in input order: the last one wins.
        kept.removeAll(keepingCapacity: true)
        for position in 0..<memberCount
        where position + 1 == memberCount || compareKeys(object, order[position], order[position + 1]) != 0 {
            kept.append(order[position])
        }
        let base = object.outputStart
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: output[base...])
        output.removeSubrange(base...)
        for (position, member) in kept.enumerated() {
            if position > 0 { output.append(UInt8(ascii: ",")) }
            let s = spans[object.spanBase + member * 3] - base
            let e = spans[object.spanBase + member * 3 + 2] - base
            output.append(contentsOf: scratch[s..<e])
        }
    }

    private func isStrictlySorted(_ object: ObjectState, _ count: Int) -> Bool {
        var i = 1
        while i < count {
            if compareKeys(object, i - 1, i) >= 0 { return false }
            i += 1
        }
        return true
    }

    private func compareKeys(_ object: ObjectState, _ a: Int, _ b: Int) -> Int {
        let aStart = spans[object.spanBase + a * 3], aEnd = spans[object.spanBase + a * 3 + 1]
        let bStart = spans[object.spanBase + b * 3], bEnd = spans[object.spanBase + b * 3 + 1]
        let aLen = aEnd - aStart, bLen = bEnd - bStart
        let common = min(aLen, bLen)
        return output.withUnsafeBufferPointer { out in
            for i in 0..<common {
                let x = out[aStart + i], y = out[bStart + i]
                if x != y { return x < y ? -1 : 1 }
            }
            return aLen == bLen ? 0 : (aLen < bLen ? -1 : 1)
        }
    }
}

/// Writes JSON in one canonical form: object keys sorted by their canonical bytes
/// (the last of duplicate keys wins, as in most parsers), no insignificant whitespace,
/// strings with the minimal escapes, numbers in a single decimal spelling.
/// Two documents that parse to the same value produce identical bytes.
package struct CanonicalJSONWriter {
    package static let maxDepth = 256

    var lexer: JSONLexer
    /// Canonical output. Callers may put a prefix in it before writing.
    package internal(set) var output: [UInt8]
    /// Member spans of the objects being written, three ints per member: start, key end, end.
    var spans: [Int] = []
    var scratch: [UInt8] = []
    /// Reused by every reordered object, so reordering allocates once per document.
    var order: [Int] = []
    var kept: [Int] = []

    init(lexer: JSONLexer, output: [UInt8]) {
        self.lexer = lexer
        self.output = output
    }

    /// The canonical bytes of a whole JSON document.
    package static func canonicalize(_ document: UnsafeRawBufferPointer) throws(JSONError) -> [UInt8] {
        let bytes = document.bindMemory(to: UInt8.self)
        var writer = CanonicalJSONWriter(lexer: JSONLexer(bytes), output: [])
        writer.output.reserveCapacity(document.count)
        writer.lexer.skipWhitespace()
        try writer.writeValue(depth: 0)
        writer.lexer.skipWhitespace()
        guard writer.lexer.atEnd else { throw writer.lexer.error("unexpected data after the JSON value") }
        return writer.output
    }

    package static func canonicalize(_ document: [UInt8]) throws(JSONError) -> [UInt8] {
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
}

/// A parsed JSON value for the cold paths (usage extraction, /stats, errors, the CLI).
/// Objects keep their member order and numbers keep their exact text, so a value
/// that is parsed and written again changes nothing but whitespace.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    package static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    package static func double(_ value: Double) -> JSONValue {
        guard value.isFinite else { return .null }
        if value == value.rounded(), abs(value) < 1e15 { return .number(String(Int(value))) }
        return .number(String(value))
    }

    /// Builds an object from key/value pairs in the order given.
    public static func object(_ pairs: KeyValuePairs<String, JSONValue>) -> JSONValue {
        .object(pairs.map { Member($0.key, $0.value) })
    }

    // MARK: Access

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    package var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        if let i = Int(text) { return i }
        if let d = Double(text), d == d.rounded(), abs(d) < 9e15 { return Int(d) }
        return nil
    }

    package var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    package var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var members: [Member]? {
        if case .object(let m) = self { return m }
        return nil
    }

    /// The value, leaving `.null` in its place. Taking a string, array or object out of
    /// its container before changing it leaves it uniquely referenced, so appends happen
    /// in place instead of copying what was accumulated so far (streams grow by appends).
    public mutating func take() -> JSONValue {
        let value = self
        self = .null
        return value
    }

    /// Sets an object member, replacing every earlier one of that name. No effect on non-objects.
    public mutating func set(_ key: String, _ value: JSONValue) {
        guard case .object(var members) = self else { return }
        members.removeAll { $0.key == key }
        members.append(Member(key, value))
        self = .object(members)
    }

    // MARK: Parsing

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSONValue {
        var parser = Parser(lexer: JSONLexer(bytes.bindMemory(to: UInt8.self)))
        parser.lexer.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.lexer.skipWhitespace()
        guard parser.lexer.atEnd else { throw parser.lexer.error("unexpected data after the JSON value") }
        return value
    }

    public static func parse<Bytes: Sequence<UInt8>>(_ bytes: Bytes) throws(JSONError) -> JSONValue {
        try Array(bytes).withUnsafeBytes { raw in Result { () throws(JSONError) in try parse(raw) } }.get()
    }

    public static func parse(_ text: String) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// One member of a top-level object, parsed alone: the rest is stepped over
    /// without building values. Nil if the document is not an object or lacks the member.
    package static func member(_ name: String, of document: UnsafeRawBufferPointer) -> JSONValue? {
        var parser = Parser(lexer: JSONLexer(document.bindMemory(to: UInt8.self)))
        let wanted = Array(name.utf8)
        var found: JSONValue?
        do {
            parser.lexer.skipWhitespace()
            try parser.lexer.expect(UInt8(ascii: "{"), "'{'")
            parser.lexer.skipWhitespace()
            if parser.lexer.peek() == UInt8(ascii: "}") { return nil }
            while true {
                parser.lexer.skipWhitespace()
                parser.buffer.removeAll(keepingCapacity: true)
                try parser.lexer.readDecodedString(into: &parser.buffer)
                parser.lexer.skipWhitespace()
                try parser.lexer.expect(UInt8(ascii: ":"), "':'")
                parser.lexer.skipWhitespace()
                if parser.buffer == wanted {
                    found = try parser.value(depth: 1)  // the last duplicate wins, as in parse
                } else {
                    try parser.lexer.skipValue(depth: 1)
                }
                parser.lexer.skipWhitespace()
                if parser.lexer.peek() == UInt8(ascii: "}") { return found }
                try parser.lexer.expect(UInt8(ascii: ","), "','")
            }
        } catch {
            return nil
        }
    }

    private struct Parser {
        var lexer: JSONLexer
        var buffer: [UInt8] = []

        mutating func value(depth: Int) throws(JSONError) -> JSONValue {
            guard depth <= CanonicalJSONWriter.maxDepth else { throw lexer.error("nesting too deep") }
            guard let byte = lexer.peek() else { throw lexer.error("unexpected end of input, expected a value") }
            switch byte {
            case UInt8(ascii: "{"):
                lexer.index += 1
                var members: [Member] = []
                lexer.skipWhitespace()
                if lexer.peek() == UInt8(ascii: "}") {
                    lexer.index += 1
                    return .object(members)
                }
                while true {
                    lexer.skipWhitespace()
                    guard lexer.peek() == UInt8(ascii: "\"") else { throw lexer.error("expected a string key") }
                    let key = try string()
                    lexer.skipWhitespace()
                    try lexer.expect(UInt8(ascii: ":"), "':'")
                    lexer.skipWhitespace()
                    members.append(Member(key, try value(depth: depth + 1)))
                    lexer.skipWhitespace()
                    if lexer.peek() == UInt8(ascii: "}") {
                        lexer.index += 1
                        return .object(members)
                    }
                    try lexer.expect(UInt8(ascii: ","), "',' or '}'")
                }
            case UInt8(ascii: "["):
                lexer.index += 1
                var items: [JSONValue] = []
                lexer.skipWhitespace()
                if lexer.peek() == UInt8(ascii: "]") {
                    lexer.index += 1
                    return .array(items)
                }
                while true {
                    lexer.skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    lexer.skipWhitespace()
                    if lexer.peek() == UInt8(ascii: "]") {
                        lexer.index += 1
                        return .array(items)
                    }
                    try lexer.expect(UInt8(ascii: ","), "',' or ']'")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try lexer.expectLiteral("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try lexer.expectLiteral("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try lexer.expectLiteral("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let range = try lexer.scanNumber()
                return .number(String(decoding: UnsafeBufferPointer(rebasing: lexer.bytes[range]), as: UTF8.self))
            default:
                throw lexer.error("unexpected character")
            }
        }

        mutating func string() throws(JSONError) -> String {
            buffer.removeAll(keepingCapacity: true)
            try lexer.readDecodedString(into: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        }
    }
}

extension [JSONValue.Member] {
    /// Sets a member in place, keeping its position; appends a new one at the end.
    public mutating func set(_ key: String, _ value: JSONValue) {
        if let i = firstIndex(where: { $0.key == key }) {
            self[i].value = value
        } else {
            append(.init(key, value))
        }
    }
}

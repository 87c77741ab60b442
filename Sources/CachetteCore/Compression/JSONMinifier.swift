/// Drops the insignificant whitespace of a JSON document and nothing else: keys keep
/// their order, numbers their spelling and strings their exact bytes (escapes
/// included), so the document parses to the same value before and after.
package enum JSONMinifier {
    /// The minified document, or nil when `text` (ignoring surrounding whitespace) is
    /// not one JSON object or array.
    package static func minify(_ text: Substring.UTF8View) -> [UInt8]? {
        // Most texts are prose: their first byte says so before anything is copied.
        let first = text.first { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\t") }
        guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else { return nil }
        let bytes = Array(text)
        guard isDocument(bytes) else { return nil }
        return minified(bytes)
    }

    /// Whether the text (surrounding whitespace aside) is one JSON object or array.
    package static func isDocument(_ text: String) -> Bool {
        TextTransforms.withBytes(text[...], isDocument)
    }

    /// Whether the bytes (surrounding whitespace aside) are one JSON object or array.
    package static func isDocument(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer(isDocument)
    }

    static func isDocument(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        var lexer = JSONLexer(buffer)
        lexer.skipWhitespace()
        guard let first = lexer.peek(), first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else { return false }
        do {
            try lexer.skipValue()
        } catch {
            return false
        }
        lexer.skipWhitespace()
        return lexer.atEnd
    }

    private static func minified(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var inString = false, escaped = false
        for byte in bytes {
            if inString {
                out.append(byte)
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case 0x20, 0x0A, 0x0D, 0x09: continue
            case UInt8(ascii: "\""): inString = true
            default: break
            }
            out.append(byte)
        }
        return out
    }
}

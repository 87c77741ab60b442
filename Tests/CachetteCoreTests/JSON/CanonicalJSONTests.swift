@testable import CachetteCore
import Testing

@Suite("Canonical JSON")
struct CanonicalJSONTests {
    func canonical(_ text: String) throws -> String {
        String(decoding: try CanonicalJSONWriter.canonicalize(Array(text.utf8)), as: UTF8.self)
    }

    @Test("keys are sorted at every depth and whitespace disappears")
    func sortsAndMinifies() throws {
        #expect(try canonical(#"{ "b": 2, "a": 1 }"#) == #"{"a":1,"b":2}"#)
        #expect(
            try canonical("{\n\t\"z\": {\"y\": [ 1 , {\"d\":1,\"c\":2} ], \"x\": null}, \"a\": true}")
                == #"{"a":true,"z":{"x":null,"y":[1,{"c":2,"d":1}]}}"#)
        #expect(try canonical("[]") == "[]")
        #expect(try canonical(" { } ") == "{}")
    }

    @Test(
        "numbers have one spelling per value",
        arguments: [
            ("1", "1"), ("1.0", "1"), ("1.50", "1.5"), ("10e-1", "1"), ("0.1E1", "1"), ("-0", "0"), ("-0.0e5", "0"),
            ("100", "100"), ("1e2", "100"), ("1.5e3", "1500"), ("0.05", "0.05"), ("5e-2", "0.05"),
            ("1e21", "1e+21"), ("123e20", "1.23e+22"), ("1e-7", "1e-7"), ("0.000001", "0.000001"),
            ("-2.500", "-2.5"), ("12345678901234567890123", "1.2345678901234567890123e+22"), ("0.7", "0.7"),
            ("123456789012345678901", "123456789012345678901"), ("1.23456789012345678901e20", "123456789012345678901"),
            ("1.2345678901234567890123e22", "1.2345678901234567890123e+22"),
        ])
    func numbers(input: String, expected: String) throws {
        #expect(try canonical(input) == expected)
    }

    @Test("strings decode escapes and re-escape minimally")
    func strings() throws {
        #expect(try canonical(#""\u0041\/b""#) == #""A/b""#)
        #expect(try canonical(#""tab\u0009nl\ncr\rq\"bs\\""#) == #""tab\tnl\ncr\rq\"bs\\""#)
        #expect(try canonical(#""\u00e9""#) == "\"é\"")
        #expect(try canonical(#""\ud83d\ude00""#) == "\"😀\"")
        #expect(try canonical(#""\u0001""#) == #""\u0001""#)
        // A lone surrogate stays distinct from U+FFFD.
        #expect(try canonical(#""\ud800""#) == #""\ud800""#)
        #expect(try canonical(#""\ud800""#) != (try canonical("\"\u{FFFD}\"")))
    }

    @Test("a large object with keys in reverse order sorts in reasonable time and keeps the last duplicate")
    func largeObject() throws {
        let n = 20_000
        let members = (0..<n).reversed().map { "\"k\(String(format: "%05d", $0))\":\($0)" } + [#""k00000":"last""#]
        let out = try canonical("{" + members.joined(separator: ",") + "}")
        #expect(out.hasPrefix(#"{"k00000":"last","k00001":1,"#))
        #expect(out.hasSuffix(#""k19999":19999}"#))
    }

    @Test("the last of duplicate keys wins, as in Python's json")
    func duplicateKeys() throws {
        #expect(try canonical(#"{"a":1,"b":2,"a":3}"#) == #"{"a":3,"b":2}"#)
        #expect(try canonical(#"{"a":1,"a":2}"#) == #"{"a":2}"#)
    }

    @Test(
        "malformed documents are rejected with a position",
        arguments: [
            "", "{", "[1,]", #"{"a":1,}"#, #"{"a" 1}"#, "{,}", "01", "1.", "1e", "-", "tru", "nul", #""abc"#,
            "\"a\u{1}b\"", #""\x""#, #""\u12G4""#, "[1 2]", "{} {}", "{'a':1}",
        ])
    func rejectsMalformed(input: String) {
        #expect(throws: JSONError.self) { try canonical(input) }
    }

    @Test("deep nesting is refused, not a stack overflow")
    func depthLimit() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONError.self) { try canonical(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? canonical(fine)) == fine)
    }

    @Test("JSONValue round-trips member order and number text")
    func valueRoundTrip() throws {
        let text = #"{"b":1.50,"a":[true,false,null,"x\"y"],"c":{"z":-0.0e1}}"#
        let value = try JSONValue.parse(text)
        #expect(value.jsonString == text)
        #expect(value["a"]?.arrayValue?.count == 4)
        #expect(value["b"]?.doubleValue == 1.5)
    }

    func usage(_ text: String) -> TokenUsage? {
        Array(text.utf8).withUnsafeBytes { TokenUsage(responseBody: $0) }
    }

    @Test("usage is found past nested values, tricky strings and numbers, which are only skipped")
    func usageExtraction() {
        let openAI =
            #"{"id":"x","choices":[{"message":{"content":"a \"usage\": {\"prompt_tokens\": 99} \\","role":"assistant"}}],"n":-1.5e3,"ok":true,"none":null,"usage":{"prompt_tokens":11,"completion_tokens":7}}"#
        #expect(usage(openAI) == TokenUsage(promptTokens: 11, completionTokens: 7))
        #expect(usage(#"{"usage":{"input_tokens":5,"output_tokens":9},"type":"message"}"#) == TokenUsage(promptTokens: 5, completionTokens: 9))
        // Anthropic's prompt is input plus cache writes plus cache reads.
        let anthropic = #"{"usage":{"input_tokens":5,"cache_creation_input_tokens":20,"cache_read_input_tokens":300,"output_tokens":9}}"#
        #expect(usage(anthropic) == TokenUsage(promptTokens: 325, completionTokens: 9, cachedPromptTokens: 300, cacheWritePromptTokens: 20))
        #expect(usage(#"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#)?.promptTokens == 2)
        #expect(usage(#"{"data":[{"embedding":[0.1,-2e-3]}],"usage":{"prompt_tokens":4,"total_tokens":4}}"#)?.promptTokens == 4)
        #expect(usage(#"{"id":"x"}"#) == nil)
        #expect(usage(#"{"usage":"none"}"#) == nil)
        #expect(usage(#"{"a":[1,2,}],"usage":{"prompt_tokens":1}}"#) == nil)
        #expect(usage("[1]") == nil)
        #expect(usage("") == nil)
    }

    @Test("a serialized string escapes exactly what the scalar-by-scalar writer escaped, and parses back")
    func stringEscapes() throws {
        func reference(_ s: String) -> [UInt8] {
            var out: [UInt8] = [UInt8(ascii: "\"")]
            for scalar in s.unicodeScalars { JSONLexer.appendCanonical(scalar: scalar.value, into: &out) }
            out.append(UInt8(ascii: "\""))
            return out
        }
        var samples = [
            "", "plain", "\"", "\\", "a\"b\\c", "line\nbreak\r\n\ttab", "\u{0}\u{1}\u{7}\u{8}\u{b}\u{c}\u{1f}\u{7f}", "é 名 🙂 \u{0301}",
            "ends with escape\n", "\nstarts with one", String(repeating: "long run ", count: 500) + "\"",
        ]
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", " ", "\n", "\"", "\\", "\u{1}", "é", "🙂", "\u{2028}", "/", "\t"]
        for _ in 0..<200 {
            samples.append((0..<Int.random(in: 0..<40, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined())
        }
        for sample in samples {
            var out: [UInt8] = []
            JSONValue.writeString(sample, into: &out)
            #expect(out == reference(sample), "\(sample.debugDescription)")
            #expect(try JSONValue.parse(out) == .string(sample))
        }
    }

    @Test("the word-at-a-time scan flags exactly the bytes a string cannot hold raw, at every position of a word")
    func wordScan() {
        for value in 0...255 {
            let b = UInt8(value)
            let special = b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20
            for position in 0..<8 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[position] = b
                // A byte above 0x80 next to it must not hide it or stand in for it.
                bytes[(position + 1) % 8] = 0xC3
                let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect(JSONLexer.mayNeedAttention(word) == special, "byte \(value) at \(position)")
            }
        }
    }

    @Test("strings of every length with an escape, a quote or a control byte at every offset read and skip as before")
    func stringOffsets() throws {
        for length in 1..<24 {
            for at in 0..<length {
                func text(_ middle: String) -> String {
                    String(repeating: "é", count: at / 2) + String(repeating: "a", count: at % 2) + middle
                        + String(repeating: "b", count: length - at - 1)
                }
                let escaped = text(#"\n"#), decoded = text("\n")
                #expect(try canonical("\"\(escaped)\"") == "\"\(text(#"\n"#))\"")
                #expect(try JSONValue.parse("\"\(escaped)\"") == .string(decoded))
                #expect(try JSONValue.parse("\"\(text(#"\""#))\"") == .string(text("\"")))
                // Skipped on the way to usage, which must still be found after it.
                #expect(usage(#"{"s":""# + text(#"\\"#) + #"","usage":{"prompt_tokens":\#(length)}}"#)?.promptTokens == length)
                // A raw control byte is refused wherever it stands, read or skipped.
                #expect(throws: JSONError.self) { try canonical("\"\(text("\u{1}"))\"") }
                #expect(usage(#"{"s":""# + text("\u{1f}") + #"","usage":{"prompt_tokens":1}}"#) == nil)
            }
            // Unterminated, with the end inside and past a word.
            #expect(throws: JSONError.self) { try canonical("\"" + String(repeating: "a", count: length)) }
            #expect(usage(#"{"s":""# + String(repeating: "a", count: length)) == nil)
        }
    }
}

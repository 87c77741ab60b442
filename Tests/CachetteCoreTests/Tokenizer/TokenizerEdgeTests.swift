@testable import CachetteCore
import Foundation
import Testing

@Suite("Tokenizer edges")
struct TokenizerEdgeTests {
    @Test("special-token strings are plain text")
    func specialTokens() throws {
        let cl100k = try Tokenizer.shared(.cl100k)
        let ids = cl100k.encode("<|endoftext|>")
        #expect(!ids.contains(100257))
        #expect(ids.count > 1)
        #expect(cl100k.decode(ids) == "<|endoftext|>")
    }

    @Test("the heap merge for long pieces gives what tiktoken's scan gives", arguments: TokenEncoding.allCases)
    func longPieces(encoding: TokenEncoding) throws {
        let tokenizer = try Tokenizer.shared(encoding)
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("aabbbcde0123ééß漢字 ".unicodeScalars)
        for _ in 0..<40 {
            let length = Int.random(in: 130...600, using: &rng)
            let piece = Array(String(String.UnicodeScalarView((0..<length).map { _ in alphabet.randomElement(using: &rng)! })).utf8)
            var viaScan: [UInt32] = [], viaHeap: [UInt32] = []
            piece.withUnsafeBufferPointer { bytes in
                BytePairEncoder.mergeByScan(bytes, tokenizer.vocabulary, into: &viaScan)
                BytePairEncoder.mergeByHeap(bytes, tokenizer.vocabulary, into: &viaHeap)
            }
            #expect(viaScan == viaHeap)
        }
    }

    @Test("100 KB of one character encodes and decodes back", arguments: TokenEncoding.allCases)
    func repeated(encoding: TokenEncoding) throws {
        let tokenizer = try Tokenizer.shared(encoding)
        for text in [String(repeating: "a", count: 100_000), String(repeating: "=", count: 100_000), String(repeating: " ", count: 100_000)] {
            let ids = tokenizer.encode(text)
            #expect(ids.count < text.utf8.count / 4)
            #expect(tokenizer.decode(ids) == text)
        }
    }

    @Test("a vocabulary whose SHA-256 differs is refused")
    func checksum() throws {
        let bytes = Array("IQ== 0\n".utf8)
        #expect(throws: Vocabulary.LoadError.self) {
            try bytes.withUnsafeBytes { try Vocabulary.load(.cl100k, from: $0) }
        }
    }

    @Test("SHA-256 matches the standard test vectors")
    func sha256() {
        func hex(_ text: String) -> String { Array(text.utf8).withUnsafeBytes { SHA256.hex($0) } }
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test("models map to encodings, unknown ones estimated with o200k")
    func models() {
        #expect(TokenEncoding.forModel("gpt-4o-mini") == (.o200k, false))
        #expect(TokenEncoding.forModel("openai/gpt-4.1") == (.o200k, false))
        #expect(TokenEncoding.forModel("o3-mini") == (.o200k, false))
        #expect(TokenEncoding.forModel("gpt-5") == (.o200k, false))
        #expect(TokenEncoding.forModel("gpt-4-turbo") == (.cl100k, false))
        #expect(TokenEncoding.forModel("gpt-3.5-turbo") == (.cl100k, false))
        #expect(TokenEncoding.forModel("claude-sonnet-4") == (.o200k, true))
    }
}

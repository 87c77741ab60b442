@testable import CachetteCore
import Foundation
import Testing

@Suite("Tokenizer")
struct TokenizerTests {
    struct Row {
        var text: String
        var ids: [TokenEncoding: [Int]]
    }

    static let rows: [Row] = {
        let url = Bundle.module.url(forResource: "tokenizer-fixtures", withExtension: "jsonl")!
        let text = try! String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let row = try! JSONValue.parse(String(line))
            var ids: [TokenEncoding: [Int]] = [:]
            for encoding in TokenEncoding.allCases {
                ids[encoding] = row[encoding.rawValue]!.arrayValue!.map { $0.intValue! }
            }
            return Row(text: row["text"]!.stringValue!, ids: ids)
        }
    }()

    @Test("every fixture row encodes to tiktoken's ids", arguments: TokenEncoding.allCases)
    func fixtures(encoding: TokenEncoding) throws {
        let tokenizer = try Tokenizer.shared(encoding)
        #expect(Self.rows.count == 140)
        var mismatches = 0
        for (index, row) in Self.rows.enumerated() {
            let got = tokenizer.encode(row.text)
            if got != row.ids[encoding]! {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record("row \(index): \(encoding.rawValue) differs for \(row.text.prefix(80).debugDescription)")
                }
            }
            #expect(tokenizer.decode(got) == row.text, "decoding gives the text back (row \(index))")
        }
        #expect(mismatches == 0)
    }

    @Test("counting line by line (the memo) gives the whole text's count", arguments: TokenEncoding.allCases)
    func memo(encoding: TokenEncoding) throws {
        let tokenizer = try Tokenizer.shared(encoding)
        let memo = TokenCountMemo(tokenizer: tokenizer)
        for row in Self.rows { #expect(memo.count(row.text) == row.ids[encoding]!.count) }
        // Joins that put every kind of byte on either side of a newline.
        let edges = ["x.\n/y", "a \n b", "\n\n\nx", "foo\n\u{00A0}bar", "it\n's", "1\n2", "end.\n\n/* c */", "tab\t\n\tx", "a\r\nb", " \n"]
        for separator in ["\n", "\n\n", ".\n/", " \n", "\r\n", "\n "] {
            let text = (Self.rows.map(\.text) + edges).joined(separator: separator)
            #expect(memo.count(text) == tokenizer.count(text), "joined by \(separator.debugDescription)")
        }
        for edge in edges { #expect(memo.count(edge) == tokenizer.count(edge), "\(edge.debugDescription)") }
    }

    @Test("long lines counted in pieces split before a space give the whole line's count", arguments: TokenEncoding.allCases)
    func memoLongLines(encoding: TokenEncoding) throws {
        let tokenizer = try Tokenizer.shared(encoding)
        let memo = TokenCountMemo(tokenizer: tokenizer)
        // What may stand before and after a space: only a printable ASCII byte before and
        // a letter after make a split, and whitespace runs must stay whole.
        let joins = [
            "x y", "x  y", "x   Y", ". y", "'s y", "don't y", "1 y", "12345 y", "/ y", "é y", "\u{00A0} y", "\t y", "\r\n y", ") y", "x 1",
            "x é", "x ;", "x  ", "x \n", "名 y", "🙂 y", "x\u{0301} y",
        ]
        let line = String(repeating: "The write-ahead log keeps each change. ", count: 7)
        for join in joins {
            for text in [line + join + line, line + join, line + join + line + join + " " + line, join + line + join] {
                #expect(memo.count(text) == tokenizer.count(text), "\(join.debugDescription)")
            }
        }
        let rows = Self.rows.map(\.text).joined(separator: " ").replacingOccurrences(of: "\n", with: " ")
        #expect(memo.count(rows) == tokenizer.count(rows))
        // The rewrite of a long line's end counts again only the pieces it changed.
        let long = String(repeating: "Please summarise the write-ahead logging section. ", count: 20)
        let pieces = long.utf8.withContiguousStorageIfAvailable { memo.pieces(utf8: $0) } ?? []
        #expect(pieces.count > 1)
        #expect(pieces.allSatisfy { $0.range.count < 2 * TokenCountMemo.longLine })
    }

    @Test("a difference equals the difference of the counts, and counts only the pieces that changed", arguments: TokenEncoding.allCases)
    func memoDifference(encoding: TokenEncoding) throws {
        let tokenizer = try Tokenizer.shared(encoding)
        let lines = (0..<60).map { "Line \($0) of the manual: the write-ahead log keeps each change until a checkpoint." }
        let text = lines.joined(separator: "\n")
        let long = String(repeating: "Please summarise the write-ahead logging section. ", count: 20)
        var pairs = [
            (text, text), ("", text), (text, ""), (long + "  ", long), (long, "x " + long), (text + "\n" + text, text),
            (text, lines[10..<20].joined(separator: "\n") + "\n[The text of message 1, lines 11–20, repeated.]"),
            (lines.reversed().joined(separator: "\n"), text),
        ]
        // Random edits of texts with repeated lines: the multiset must match repeats one for one.
        let pool = ["alpha beta\n", "  indented\n", "/* slash */\n", "gamma\n", "\n", "delta " + long + "\n", "é名🙂\n", "x"]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            var a = (0..<Int.random(in: 0..<30, using: &rng)).map { _ in pool.randomElement(using: &rng)! }
            let original = a.joined()
            for _ in 0..<Int.random(in: 1..<4, using: &rng) {
                let at = Int.random(in: 0...a.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0 where at < a.count: a.remove(at: at)
                case 1: a.insert(pool.randomElement(using: &rng)!, at: at)
                default: if at < a.count { a[at] = pool.randomElement(using: &rng)! }
                }
            }
            pairs.append((original, a.joined()))
        }
        for (a, b) in pairs {
            let (removed, added) = TokenCountMemo(tokenizer: tokenizer).difference(from: a, to: b)
            #expect(added - removed == tokenizer.count(b) - tokenizer.count(a), "\(a.debugDescription) → \(b.debugDescription)")
            #expect(removed <= tokenizer.count(a) && added <= tokenizer.count(b))
        }
        // One line of sixty rewritten: only that line is counted, before and after.
        var rewritten = lines
        rewritten[30] = "Line 30 was rewritten."
        let memo = TokenCountMemo(tokenizer: tokenizer)
        let (removed, added) = memo.difference(from: text, to: rewritten.joined(separator: "\n"))
        #expect(removed == tokenizer.count(lines[30] + "\n") && added == tokenizer.count(rewritten[30] + "\n"))
    }
}

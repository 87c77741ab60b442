/// The lexer that walks code once, copying all but its comments.
extension CodeComments {
    struct Lexer {
        let code: [UInt8]
        let syntax: Syntax
        var out: [UInt8] = []
        var i = 0
        /// Output lines (by index) a comment was removed from.
        var touched: Set<Int> = []
        var line = 0

        init(code: [UInt8], syntax: Syntax) {
            self.code = code
            self.syntax = syntax
            out.reserveCapacity(code.count)
        }

        /// Copies the code, dropping comments; false if it could not follow the code.
        mutating func run() -> Bool {
            var lineStart = true
            var blockScalarParent: Int?  // indentation of a YAML key whose value is a block scalar
            while i < code.count {
                if lineStart, syntax.yamlBlockScalars {
                    if let parent = blockScalarParent, isBlankOrIndented(beyond: parent) {
                        copyLine()
                        continue
                    }
                    blockScalarParent = nil
                }
                lineStart = false
                let b = code[i]
                if b == UInt8(ascii: "\n") {
                    if syntax.yamlBlockScalars, let parent = opensBlockScalar() { blockScalarParent = parent }
                    emit(b)
                    lineStart = true
                    continue
                }
                if let block = syntax.blocks.first(where: { CodeComments.matches(code, i, $0.open) }) {
                    guard skipBlock(block) else { return false }
                    continue
                }
                if let marker = syntax.line.first(where: { CodeComments.matches(code, i, $0) }), startsLineComment(marker) {
                    skipLineComment(marker)
                    continue
                }
                if let form = syntax.strings.first(where: { opensString($0) }) {
                    guard copyString(form) else { return false }
                    continue
                }
                if b == UInt8(ascii: "'"), syntax.charLiterals, let end = charLiteralEnd() {
                    out.append(contentsOf: code[i..<end])
                    i = end
                    continue
                }
                emit(b)
            }
            return true
        }

        mutating func emit(_ b: UInt8) {
            out.append(b)
            i += 1
            if b == UInt8(ascii: "\n") { line += 1 }
        }

        mutating func copyLine() {
            while i < code.count {
                let b = code[i]
                emit(b)
                if b == UInt8(ascii: "\n") { return }
            }
        }

        func previous() -> UInt8? { i > 0 ? code[i - 1] : nil }

        func startsLineComment(_ marker: [UInt8]) -> Bool {
            let before = previous()
            if syntax.lineNeedsSpaceBefore {
                guard before == nil || before == UInt8(ascii: " ") || before == UInt8(ascii: "\t") || before == UInt8(ascii: "\n") else {
                    return false
                }
            }
            // `\/\/` in a JavaScript regex literal is not a comment.
            if before == UInt8(ascii: "\\") { return false }
            if isDirective(after: i + marker.count) { return false }
            return true
        }

        func isDirective(after start: Int) -> Bool {
            var j = start
            if i == 0, j < code.count, code[j] == UInt8(ascii: "!") { return true }  // a shebang
            while j < code.count, code[j] == UInt8(ascii: " ") { j += 1 }
            return CodeComments.directives.contains { CodeComments.matches(code, j, $0) }
        }

        mutating func skipLineComment(_ marker: [UInt8]) {
            touched.insert(line)
            while i < code.count, code[i] != UInt8(ascii: "\n") {
                // Keep a CRLF line ending whole.
                if code[i] == UInt8(ascii: "\r"), i + 1 < code.count, code[i + 1] == UInt8(ascii: "\n") { break }
                i += 1
            }
        }

        mutating func skipBlock(_ block: (open: [UInt8], close: [UInt8])) -> Bool {
            if isDirective(after: i + block.open.count) {
                // Kept whole: copy through the close.
                let start = i
                guard skipTo(block) else { return false }
                out.append(contentsOf: code[start..<i])
                line += code[start..<i].lazy.filter { $0 == UInt8(ascii: "\n") }.count
                return true
            }
            touched.insert(line)
            return skipTo(block)
        }

        /// Moves past the block's close (counting nested opens where the language nests).
        mutating func skipTo(_ block: (open: [UInt8], close: [UInt8])) -> Bool {
            i += block.open.count
            var depth = 1
            while i < code.count {
                if CodeComments.matches(code, i, block.close) {
                    i += block.close.count
                    depth -= 1
                    if depth == 0 { return true }
                } else if syntax.nestedBlocks, CodeComments.matches(code, i, block.open) {
                    i += block.open.count
                    depth += 1
                } else {
                    i += 1
                }
            }
            return false
        }

        /// Whether the line at `i` is blank or indented deeper than `parent`.
        func isBlankOrIndented(beyond parent: Int) -> Bool {
            var j = i, indent = 0
            while j < code.count, code[j] == UInt8(ascii: " ") {
                j += 1
                indent += 1
            }
            if j == code.count || code[j] == UInt8(ascii: "\n") || code[j] == UInt8(ascii: "\r") { return true }
            return indent > parent
        }

        /// If the output line just finished ends in a block-scalar indicator (`key: |`,
        /// `- >-`), that line's indentation.
        func opensBlockScalar() -> Int? {
            var end = out.count
            while end > 0, out[end - 1] == UInt8(ascii: " ") || out[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            var start = end
            while start > 0, out[start - 1] != UInt8(ascii: "\n") { start -= 1 }
            var j = end
            while j > start, out[j - 1] == UInt8(ascii: "-") || out[j - 1] == UInt8(ascii: "+") || (out[j - 1] >= 0x31 && out[j - 1] <= 0x39) {
                j -= 1
            }
            guard j > start, out[j - 1] == UInt8(ascii: "|") || out[j - 1] == UInt8(ascii: ">") else { return nil }
            let indicator = j - 1
            guard indicator == start || out[indicator - 1] == UInt8(ascii: " ") else { return nil }
            var indent = 0
            while start + indent < end, out[start + indent] == UInt8(ascii: " ") { indent += 1 }
            return indent
        }

        // MARK: Output

        /// The output with trailing whitespace cut from lines that lost a comment, and
        /// those lines dropped where nothing else was on them.
        func tidied() -> [UInt8] {
            var result: [UInt8] = []
            result.reserveCapacity(out.count)
            var index = 0
            var first = true
            for var piece in out.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                defer { index += 1 }
                if touched.contains(index) {
                    let cr = piece.last == UInt8(ascii: "\r")
                    if cr { piece = piece.dropLast() }
                    while let last = piece.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { piece = piece.dropLast() }
                    if piece.isEmpty { continue }
                    if !first { result.append(UInt8(ascii: "\n")) }
                    result.append(contentsOf: piece)
                    if cr { result.append(UInt8(ascii: "\r")) }
                } else {
                    if !first { result.append(UInt8(ascii: "\n")) }
                    result.append(contentsOf: piece)
                }
                first = false
            }
            return result
        }
    }
}

/// Removes comments from code in a known language (the `aggressive` level).
///
/// A small lexer per language family knows the language's strings, so a `#` or `//`
/// inside a string literal is kept. A line left blank by a removed comment goes; blank
/// lines that were blank before stay. Tool directives (`# type: ignore`, `//go:build`,
/// `// eslint-disable`, a shebang) are not commentary and are kept. When the lexer
/// cannot follow the code to its end (an unclosed string or block comment, a shell
/// heredoc) the code is returned unchanged rather than guessed at.
enum CodeComments {
    /// How one language family writes comments and strings.
    struct Syntax: Sendable {
        var line: [[UInt8]] = []
        /// `#` in shell and YAML (and Sass's `//`, for `url(http://…)`) starts a comment
        /// only at a line's start or after whitespace.
        var lineNeedsSpaceBefore = false
        var blocks: [(open: [UInt8], close: [UInt8])] = []
        var nestedBlocks = false
        var strings: [StringForm] = []
        /// `'` opens only a one-character literal (`'a'`, `'\n'`); otherwise it is a
        /// Rust lifetime or similar, not a string.
        var charLiterals = false
        /// YAML and shell: a quote opens a string only after a non-word byte (`don't` is prose).
        var quotesNeedBoundary = false
        /// YAML's `|` and `>` block scalars hold literal text, `#` included.
        var yamlBlockScalars = false
        /// A shell heredoc's body is data, and finding its end is not worth the risk.
        var refuseHeredocs = false
        /// Swift's `"\(f("x"))"`: quotes inside an interpolation do not end the string.
        var interpolation = false
    }

    struct StringForm: Sendable {
        var open: [UInt8]
        var close: [UInt8]
        var escapes = true
        /// The opener must start a token (Rust's `r"`, C#'s `@"`), not end an identifier.
        var atTokenStart = false

        init(_ open: String, _ close: String? = nil, escapes: Bool = true, atTokenStart: Bool = false) {
            self.open = Array(open.utf8)
            self.close = Array((close ?? open).utf8)
            self.escapes = escapes
            self.atTokenStart = atTokenStart
        }
    }

    // MARK: Languages

    private static let slashes = [Array("//".utf8)]
    private static let hash = [Array("#".utf8)]
    private static let cBlock = [(open: Array("/*".utf8), close: Array("*/".utf8))]

    static let cFamily = Syntax(line: slashes, blocks: cBlock, strings: [StringForm("\"")], charLiterals: true)
    static let java = Syntax(line: slashes, blocks: cBlock, strings: [StringForm("\"\"\""), StringForm("\"")], charLiterals: true)
    static let csharp = Syntax(
        line: slashes, blocks: cBlock,
        strings: [StringForm("\"\"\""), StringForm("@\"", "\"", escapes: false, atTokenStart: true), StringForm("\"")], charLiterals: true
    )
    static let javascript = Syntax(line: slashes, blocks: cBlock, strings: [StringForm("\""), StringForm("'"), StringForm("`")])
    static let go = Syntax(line: slashes, blocks: cBlock, strings: [StringForm("\""), StringForm("`", escapes: false)], charLiterals: true)
    static let rust = Syntax(
        line: slashes, blocks: cBlock, nestedBlocks: true,
        strings: [
            StringForm("r##\"", "\"##", escapes: false, atTokenStart: true), StringForm("r#\"", "\"#", escapes: false, atTokenStart: true),
            StringForm("r\"", "\"", escapes: false, atTokenStart: true), StringForm("\""),
        ],
        charLiterals: true
    )
    static let swift = Syntax(
        line: slashes, blocks: cBlock, nestedBlocks: true,
        strings: [
            StringForm("#\"\"\"", "\"\"\"#", escapes: false), StringForm("#\"", "\"#", escapes: false), StringForm("\"\"\""), StringForm("\""),
        ],
        interpolation: true
    )
    static let python = Syntax(line: hash, strings: [StringForm("\"\"\""), StringForm("'''"), StringForm("\""), StringForm("'")])
    static let ruby = Syntax(line: hash, lineNeedsSpaceBefore: true, strings: [StringForm("\""), StringForm("'")])
    static let shell = Syntax(
        line: hash, lineNeedsSpaceBefore: true, strings: [StringForm("\""), StringForm("'", escapes: false)],
        quotesNeedBoundary: true, refuseHeredocs: true
    )
    static let yaml = Syntax(
        line: hash, lineNeedsSpaceBefore: true, strings: [StringForm("\""), StringForm("'", escapes: false)],
        quotesNeedBoundary: true, yamlBlockScalars: true
    )
    static let sql = Syntax(line: [Array("--".utf8)], blocks: cBlock, strings: [StringForm("'"), StringForm("\"")])
    static let lua = Syntax(
        line: [Array("--".utf8)], blocks: [(open: Array("--[[".utf8), close: Array("]]".utf8))],
        strings: [StringForm("[[", "]]", escapes: false), StringForm("\""), StringForm("'")]
    )
    static let markup = Syntax(blocks: [(open: Array("<!--".utf8), close: Array("-->".utf8))])
    static let css = Syntax(blocks: cBlock, strings: [StringForm("\""), StringForm("'")])
    static let sass = Syntax(line: slashes, lineNeedsSpaceBefore: true, blocks: cBlock, strings: [StringForm("\""), StringForm("'")])

    /// The syntax for a fence's info string ("python", "ts title=x.ts"), if the language is known.
    static func syntax(forFence info: Substring) -> Syntax? {
        let name = info.prefix { !$0.isWhitespace && $0 != "{" && $0 != "," }.lowercased()
        switch name {
        case "c", "h", "cpp", "c++", "cc", "cxx", "hpp", "hh", "objc", "objective-c", "objectivec", "cuda", "glsl", "hlsl",
            "proto", "protobuf", "jsonc", "json5":
            return cFamily
        case "java", "kotlin", "kt", "kts", "scala", "groovy": return java
        case "cs", "csharp", "c#": return csharp
        case "js", "javascript", "jsx", "mjs", "cjs", "ts", "typescript", "tsx", "dart": return javascript
        case "go", "golang": return go
        case "rust", "rs": return rust
        case "swift": return swift
        case "python", "py", "python3", "py3": return python
        case "ruby", "rb": return ruby
        case "sh", "bash", "zsh", "shell", "dockerfile", "makefile", "make", "cmake", "perl", "pl", "r", "toml", "elixir", "ex", "exs",
            "nginx", "powershell", "ps1":
            return shell
        case "yaml", "yml": return yaml
        case "sql", "psql", "mysql", "postgresql", "postgres", "plsql", "tsql", "sqlite": return sql
        case "lua": return lua
        case "html", "xml", "svg", "xhtml": return markup
        case "css": return css
        case "scss", "sass", "less": return sass
        default: return nil
        }
    }

    /// Comments that steer a tool, not a reader, and so are kept.
    private static let directives = [
        "type:", "noqa", "pylint:", "mypy:", "fmt:", "isort:", "pragma", "go:", "+build", "nolint", "eslint", "@ts-",
        "prettier-ignore", "istanbul", "swiftlint:", "swift-format", "rubocop:", "frozen_string_literal", "-*-", "shellcheck",
        "@flow", "@jsx", "clang-format", "NOLINT", "#region", "#endregion", "language=", "@license", "@preserve",
    ].map { Array($0.utf8) }

    // MARK: Stripping

    /// The code without its comments, or nil when there were none or the lexer could
    /// not follow the code to its end.
    static func strip(_ code: [UInt8], _ syntax: Syntax) -> [UInt8]? {
        if syntax.refuseHeredocs, contains(code, Array("<<".utf8)) { return nil }
        var lexer = Lexer(code: code, syntax: syntax)
        guard lexer.run(), !lexer.touched.isEmpty else { return nil }
        return lexer.tidied()
    }

    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        for i in 0...(bytes.count - needle.count) where bytes[i] == needle[0] && matches(bytes, i, needle) { return true }
        return false
    }

    static func matches(_ bytes: [UInt8], _ at: Int, _ needle: [UInt8]) -> Bool {
        guard at + needle.count <= bytes.count else { return false }
        for k in needle.indices where bytes[at + k] != needle[k] { return false }
        return true
    }

    static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == UInt8(ascii: "_") || b >= 0x80
    }

    private struct Lexer {
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

        private mutating func emit(_ b: UInt8) {
            out.append(b)
            i += 1
            if b == UInt8(ascii: "\n") { line += 1 }
        }

        private mutating func copyLine() {
            while i < code.count {
                let b = code[i]
                emit(b)
                if b == UInt8(ascii: "\n") { return }
            }
        }

        private func previous() -> UInt8? { i > 0 ? code[i - 1] : nil }

        private func startsLineComment(_ marker: [UInt8]) -> Bool {
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

        private func isDirective(after start: Int) -> Bool {
            var j = start
            if i == 0, j < code.count, code[j] == UInt8(ascii: "!") { return true }  // a shebang
            while j < code.count, code[j] == UInt8(ascii: " ") { j += 1 }
            return CodeComments.directives.contains { CodeComments.matches(code, j, $0) }
        }

        private mutating func skipLineComment(_ marker: [UInt8]) {
            touched.insert(line)
            while i < code.count, code[i] != UInt8(ascii: "\n") {
                // Keep a CRLF line ending whole.
                if code[i] == UInt8(ascii: "\r"), i + 1 < code.count, code[i + 1] == UInt8(ascii: "\n") { break }
                i += 1
            }
        }

        private mutating func skipBlock(_ block: (open: [UInt8], close: [UInt8])) -> Bool {
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
        private mutating func skipTo(_ block: (open: [UInt8], close: [UInt8])) -> Bool {
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

        private func opensString(_ form: StringForm) -> Bool {
            guard CodeComments.matches(code, i, form.open) else { return false }
            if form.atTokenStart || (syntax.quotesNeedBoundary && form.open.count == 1) {
                if let before = previous(), CodeComments.isWordByte(before) { return false }
            }
            return true
        }

        private mutating func copyString(_ form: StringForm) -> Bool {
            let start = i
            i += form.open.count
            while i < code.count {
                if form.escapes, code[i] == UInt8(ascii: "\\") {
                    if syntax.interpolation, i + 1 < code.count, code[i + 1] == UInt8(ascii: "(") {
                        guard skipInterpolation() else { return false }
                        continue
                    }
                    i += 2
                    continue
                }
                if CodeComments.matches(code, i, form.close) {
                    i += form.close.count
                    out.append(contentsOf: code[start..<i])
                    line += code[start..<i].lazy.filter { $0 == UInt8(ascii: "\n") }.count
                    return true
                }
                i += 1
            }
            return false
        }

        /// Moves past `\( … )`, whose strings may hold any quote or parenthesis.
        private mutating func skipInterpolation() -> Bool {
            i += 2
            var depth = 1
            while i < code.count {
                switch code[i] {
                case UInt8(ascii: "("): depth += 1
                case UInt8(ascii: ")"):
                    depth -= 1
                    if depth == 0 {
                        i += 1
                        return true
                    }
                case UInt8(ascii: "\""):
                    i += 1
                    while i < code.count, code[i] != UInt8(ascii: "\"") { i += code[i] == UInt8(ascii: "\\") ? 2 : 1 }
                case UInt8(ascii: "\n"): return false
                default: break
                }
                i += 1
            }
            return false
        }

        /// The end of a character literal starting at `i`, or nil if `'` starts none.
        private func charLiteralEnd() -> Int? {
            var j = i + 1
            guard j < code.count else { return nil }
            if code[j] == UInt8(ascii: "\\") {
                j += 2
                let limit = min(code.count, i + 12)
                while j < limit {
                    if code[j] == UInt8(ascii: "'") { return j + 1 }
                    if code[j] == UInt8(ascii: "\n") { return nil }
                    j += 1
                }
                return nil
            }
            // One UTF-8 scalar, then the closing quote.
            j += 1
            while j < code.count, code[j] & 0xC0 == 0x80 { j += 1 }
            return j < code.count && code[j] == UInt8(ascii: "'") ? j + 1 : nil
        }

        // MARK: YAML block scalars

        /// Whether the line at `i` is blank or indented deeper than `parent`.
        private func isBlankOrIndented(beyond parent: Int) -> Bool {
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
        private func opensBlockScalar() -> Int? {
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

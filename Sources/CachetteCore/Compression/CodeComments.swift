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
    static let directives = [
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
}

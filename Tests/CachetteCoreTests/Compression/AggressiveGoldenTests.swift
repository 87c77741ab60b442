@testable import CachetteCore
import Testing

// MARK: aggressive

let aggressive = CompressionOptions(level: .aggressive)

/// The code inside a fenced block of `language`, comments stripped as `aggressive` would.
func stripped(_ language: String, _ code: String) -> String {
    let text = "```\(language)\n\(code)\n```"
    let out = TextTransforms.stripComments(text)
    return String(out.dropFirst(4 + language.count).dropLast(4))
}

@Suite("Compression: aggressive golden transforms")
struct AggressiveGoldenTests {
    @Test("Python: comments go, strings with # stay, directives and the shebang stay")
    func python() {
        let code = """
            #!/usr/bin/env python3
            # Settle every delivered order.
            def settle(orders):  # sorted by date
                url = "http://example.com/#top"  # the endpoint
                doc = '''a # in a docstring'''
                total = 0  # type: int

                return total
            """
        #expect(
            stripped("python", code) == """
                #!/usr/bin/env python3
                def settle(orders):
                    url = "http://example.com/#top"
                    doc = '''a # in a docstring'''
                    total = 0  # type: int

                    return total
                """)
    }

    @Test("JavaScript: line and block comments go, strings, templates and regex literals stay")
    func javascript() {
        let code = """
            // top comment
            const re = /\\/\\//g; // regex
            /* block
               comment */
            const s = "a // b", t = `x ${"//"} y`, u = 'it\\'s // fine';
            // eslint-disable-next-line no-console
            console.log(s); /* trailing */
            """
        #expect(
            stripped("ts", code) == """
                const re = /\\/\\//g;
                const s = "a // b", t = `x ${"//"} y`, u = 'it\\'s // fine';
                // eslint-disable-next-line no-console
                console.log(s);
                """)
    }

    @Test("Rust and Swift: nested block comments, lifetimes, char literals, raw strings, interpolation")
    func rustAndSwift() {
        let rust = """
            /* outer /* inner */ still outer */
            fn f<'a>(x: &'a str) -> char { // lifetime, not a string
                let q = '"'; let u = r#"http://x "quoted""#; // raw
                q
            }
            """
        #expect(
            stripped("rust", rust) == """
                fn f<'a>(x: &'a str) -> char {
                    let q = '"'; let u = r#"http://x "quoted""#;
                    q
                }
                """)
        let swift = """
            /// Doc comment.
            let u = "\\(link("http://x"))" // interpolated
            let r = #"C:\\ // raw"#
            """
        #expect(
            stripped("swift", swift) == """
                let u = "\\(link("http://x"))"
                let r = #"C:\\ // raw"#
                """)
    }

    @Test("Go, SQL, HTML, CSS: each language's own comments and strings")
    func others() {
        #expect(stripped("go", "//go:build linux\n// Package main.\nvar s = `raw // text` // note") == "//go:build linux\nvar s = `raw // text`")
        #expect(stripped("sql", "SELECT '--not' AS x -- why\n/* plan */ FROM t;") == "SELECT '--not' AS x\n FROM t;")
        #expect(stripped("html", "<p>hi</p><!-- note\n more -->\n<a href=\"#\">x</a>") == "<p>hi</p>\n<a href=\"#\">x</a>")
        #expect(stripped("css", "a { background: url(http://x/y.png); } /* why */") == "a { background: url(http://x/y.png); }")
    }

    @Test("shell and YAML: # starts a comment only after whitespace, outside prose quotes, block scalars and heredocs")
    func shellAndYAML() {
        #expect(stripped("bash", "# setup\necho ${#name} it's # count\nrm -rf \"$dir#x\"") == "echo ${#name} it's\nrm -rf \"$dir#x\"")
        let heredoc = "cat <<EOF\n# not a comment\nEOF"
        #expect(stripped("sh", heredoc) == heredoc)
        let yaml = "# settings\nscript: |  # literal follows\n  echo hi # kept, it is data\n  # also data\nname: 'don''t # keep' # cut\n"
        #expect(stripped("yaml", yaml) == "script: |\n  echo hi # kept, it is data\n  # also data\nname: 'don''t # keep'\n")
    }

    @Test("unknown languages, unclosed strings and unclosed block comments are left as they are")
    func refusals() {
        for (language, code) in [("brainfuck", "# not known"), ("python", "x = 'open # string"), ("c", "/* never closed\nint x;")] {
            #expect(stripped(language, code) == code)
        }
    }

    @Test("hard-wrapped prose becomes one line per paragraph, list items continued, structure kept line by line")
    func reflow() {
        let wrapped = """
            The quarterly report shows that the latency of the checkout service rose
            sharply after the deploy on the fourth, and that the rollback on the sixth
            brought it back within the agreed limits for the rest of the month.

            - the first item of a list that is long enough to be wrapped by the editor
              at a fixed width, continued here
            - a second item
            """
        #expect(
            ProseReflow.reflow(wrapped) == """
                The quarterly report shows that the latency of the checkout service rose sharply after the deploy on the fourth, and that the rollback on the sixth brought it back within the agreed limits for the rest of the month.

                - the first item of a list that is long enough to be wrapped by the editor at a fixed width, continued here
                - a second item
                """)
        // Short lines, `Key: value` lines, headings and hard breaks keep their lines.
        let kept = """
            Roses are red,
            violets are blue.

            Status: the deploy finished without errors and the service is healthy now
            Owner: the platform team, who will review the dashboards on Monday morning
            # A heading that is long enough to look like it could have been wrapped
            It ends with a hard break that the author meant to keep in the text here\\
            and continues.
            """
        #expect(ProseReflow.reflow(kept) == kept)
        // Lines that end well short of the width were broken on purpose.
        for deliberate in [
            "Here is what I got when I ran the build on the server again this morning\nit failed.\nThen I retried.",
            "Here is the error I got when I ran the build on the server this morning:\nTypeError: x is undefined",
        ] {
            #expect(ProseReflow.reflow(deliberate) == deliberate)
        }
    }

    @Test("the compressor reflows prose messages but never a tool's output")
    func reflowOnlyProse() {
        let wrapped = (0..<8).map { _ in "the service answered every request within the agreed latency budget" }.joined(separator: "\n")
        let output = wrapped.replacingOccurrences(of: "service", with: "worker")
        let (out, report) = compressor(aggressive).compress(messages: [message("user", wrapped), message("tool", output)])
        #expect(out[0]["content"]?.stringValue == wrapped.replacingOccurrences(of: "\n", with: " "))
        #expect(out[1]["content"]?.stringValue == output)
        #expect(report.after[0] < report.before[0])
        #expect(compressor().compress(messages: [message("user", wrapped)]).messages[0]["content"]?.stringValue == wrapped, "safe keeps the lines")
    }

    @Test("a long tool output is cut to head and tail on line ends, with a marker, within the limit")
    func toolOutputCut() throws {
        let log = (0..<600).map { "2026-11-21T10:\($0 / 60):\($0 % 60)Z INFO worker-\($0 % 7) processed batch \($0) in \($0 * 3 % 97) ms" }
        let text = log.joined(separator: "\n")
        // Dedup off: the user's copy would otherwise become a reference to the head.
        let options = CompressionOptions(level: .aggressive, dedupMinTokens: .max, maxToolOutputTokens: 1000)
        let messages = [message("tool", text), message("user", log.prefix(300).joined(separator: "\n"))]
        let (out, report) = compressor(options).compress(messages: messages)
        let cut = try #require(out[0]["content"]?.stringValue)
        #expect(report.after[0] <= 1000 && report.after[0] > 900)
        let lines = cut.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let marker = try #require(lines.firstIndex { $0.hasPrefix("[… Cachette cut ") })
        #expect(Array(lines[..<marker]) == Array(log.prefix(marker)), "the head is whole lines from the start")
        #expect(Array(lines[(marker + 1)...]) == Array(log.suffix(lines.count - marker - 1)), "the tail is whole lines to the end")
        let cutLines = 600 - (lines.count - 1)
        #expect(lines[marker].contains("tokens (\(cutLines) lines) from the middle of this tool output"))
        #expect(out[1] == messages[1], "only tool outputs are cut")
        // Under the limit, or at safe, nothing is cut.
        let roomy = CompressionOptions(level: .aggressive, maxToolOutputTokens: 20000)
        #expect(compressor(roomy).compress(messages: [message("tool", text)]).messages[0]["content"]?.stringValue == text, "under the limit")
        let safe = CompressionOptions(level: .safe, maxToolOutputTokens: 1000)
        #expect(compressor(safe).compress(messages: [message("tool", text)]).messages[0]["content"]?.stringValue == text, "at safe")
    }

    @Test("a one-line output is cut between characters, never inside one")
    func toolOutputCutOneLine() throws {
        let text = "[" + (0..<2000).map { "\"été \($0) — ✓\"" }.joined(separator: ",") + "]"
        let cut = try #require(ToolOutputCut.cut(text, maxTokens: 300, counter: TokenCountMemo(tokenizer: tokenizer)))
        #expect(tokenizer.count(cut) <= 300)
        #expect(cut.utf8.count > 500)
        #expect(!cut.contains("\u{FFFD}"))
        #expect(cut.hasPrefix("[\"été 0 — ✓\""))
        #expect(cut.hasSuffix("\"été 1999 — ✓\"]"))
        #expect(ToolOutputCut.cut("short", maxTokens: 300, counter: TokenCountMemo(tokenizer: tokenizer)) == nil)
    }

    @Test("comments are stripped at aggressive only, in any message but the system's")
    func levels() {
        let text = "Review:\n```python\n# explain\nx = 1  # one\n```"
        #expect(compressor().compress(messages: [message("user", text)]).messages[0]["content"]?.stringValue == text)
        #expect(
            compressor(aggressive).compress(messages: [message("user", text)]).messages[0]["content"]?.stringValue == "Review:\n```python\nx = 1\n```"
        )
        #expect(compressor(aggressive).compress(messages: [message("system", text)]).messages[0]["content"]?.stringValue == text)
    }
}

/// Each message's texts with every dedup reference replaced by the lines it names, read
/// from the compressed messages themselves; fails on a reference to a later message, a
/// missing part or lines past the end.
func expandingReferences(_ messages: [JSONValue]) throws -> [[String]] {
    let lines = /^\[The text of message (\d+)(?: \(text part (\d+)\))?, lines? (\d+)(?:–(\d+))?, repeated\.\]$/
    let whole = /^\[Same text as in message (\d+)(?: \(text part (\d+)\))? above\.\]$/
    let texts = messages.map(DuplicateRegistry.texts(of:))
    func source(_ message: Substring, _ part: Substring?, before index: Int) throws -> [Substring] {
        let m = try #require(Int(message)) - 1
        try #require(m < index, "a reference points back")
        let p = try part.map { try #require(Int($0)) - 1 } ?? 0
        try #require(part != nil || texts[m].count == 1)
        return try #require(texts[m].indices.contains(p) ? texts[m][p].split(separator: "\n", omittingEmptySubsequences: false) : nil)
    }
    return try texts.indices.map { index in
        try texts[index].map { text in
            try text.split(separator: "\n", omittingEmptySubsequences: false).flatMap { line -> [Substring] in
                if let match = line.wholeMatch(of: lines) {
                    let from = try source(match.1, match.2, before: index)
                    let a = try #require(Int(match.3)), b = try match.4.map { try #require(Int($0)) } ?? a
                    try #require(1 <= a && a <= b && b <= from.count)
                    return Array(from[(a - 1)...(b - 1)])
                }
                if let match = line.wholeMatch(of: whole) { return try source(match.1, match.2, before: index) }
                return [line]
            }.joined(separator: "\n")
        }
    }
}

/// Text with every run of whitespace (newlines too) one space, ends trimmed.
func folded(_ text: String) -> String {
    text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
}

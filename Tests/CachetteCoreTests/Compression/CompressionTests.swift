@testable import CachetteCore
import Testing

private let tokenizer = try! Tokenizer.shared(.o200k)
private func compressor(_ options: CompressionOptions = CompressionOptions()) -> PromptCompressor {
    PromptCompressor(options: options, tokenizer: tokenizer)
}
private func message(_ role: String, _ content: String) -> JSONValue {
    .object(["role": .string(role), "content": .string(content)])
}

@Suite("Compression: golden transforms")
struct CompressionGoldenTests {
    @Test("whole-content JSON is minified, keeping key order, numbers and string bytes")
    func wholeJSON() throws {
        let pretty = "{\n  \"b\": 1.50,\n  \"a\": [1, 2],\n  \"s\": \"two  spaces \\u00e9\"\n}\n"
        let (out, report) = compressor().compress(messages: [message("tool", pretty)])
        #expect(out[0]["content"] == .string(#"{"b":1.50,"a":[1,2],"s":"two  spaces \u00e9"}"#))
        #expect(report.after[0] < report.before[0])
        #expect(try JSONValue.parse(pretty) == JSONValue.parse(out[0]["content"]!.stringValue!))
    }

    @Test("fenced json blocks are minified, the prose and other fences kept")
    func fencedJSON() {
        let text = "Result:\n```json\n{\n  \"ok\": true,\n  \"items\": [\n    1,\n    2\n  ]\n}\n```\n```python\nx = {\n  'a': 1\n}\n```"
        let (out, _) = compressor().compress(messages: [message("user", text)])
        #expect(out[0]["content"] == .string("Result:\n```json\n{\"ok\":true,\"items\":[1,2]}\n```\n```python\nx = {\n  'a': 1\n}\n```"))
    }

    @Test("prose whitespace (trailing spaces, blank-line and space runs) goes, indentation and fences stay")
    func whitespace() {
        let text =
            "Hello   there,  world.   \n\n\n\nNext line\n    indented   keeps  its  spaces\n```\ncode    stays   \n\n\n```\nSearch  \"exact   phrase\"  now"
        let (out, _) = compressor().compress(messages: [message("user", text)])
        #expect(
            out[0]["content"]
                == .string(
                    "Hello there, world.\n\nNext line\n    indented keeps its spaces\n```\ncode    stays   \n\n\n```\nSearch \"exact   phrase\" now"))
    }

    @Test("a fence needs three ``` or ~~~ in a row, anywhere in the text")
    func fenceCheck() {
        for text in ["```", "~~~", "a```", "x\n~~~~\ny", String(repeating: "`` ~~ ", count: 50) + "```", "``~`~~~"] {
            #expect(TextTransforms.mayHaveFence(text), "\(text.debugDescription)")
        }
        for text in ["", "`", "``", "~~", "``~", "~~`", "a`b`c`", String(repeating: "`` ~~ ", count: 50), "\u{00B4}\u{00B4}\u{00B4}"] {
            #expect(!TextTransforms.mayHaveFence(text), "\(text.debugDescription)")
        }
    }

    @Test("space runs between quotes stay, and runs of any length elsewhere become one space")
    func spaceRuns() {
        let text = "a  b   c \"x   y\"  d\\\"  e    f\n  lead   kept  inside\nend  "
        let (out, _) = compressor().compress(messages: [message("user", text)])
        #expect(out[0]["content"] == .string("a b c \"x   y\" d\\\" e f\n  lead kept inside\nend"))
    }

    @Test("a repeated block of enough tokens becomes a reference to the earliest copy, which is never changed")
    func duplicates() {
        let document = (1...40).map { "Clause \($0) of the agreement applies." }.joined(separator: " ")
        let messages = [
            message("user", document),
            message("assistant", "Noted."),
            message("user", document),
            message("user", "Again:\n```\n\(document)\n```"),
        ]
        let (out, report) = compressor().compress(messages: messages)
        #expect(out[0] == messages[0])
        #expect(out[2]["content"] == .string("[Same text as in message 1 above.]"))
        #expect(out[3] == messages[3], "a fenced block is compared as a block, and this one is new")
        #expect(report.saved > 300)
        // A short repeat stays.
        let short = compressor().compress(messages: [message("user", "yes please"), message("user", "yes please")]).messages
        #expect(short[1]["content"] == .string("yes please"))
    }

    @Test("without references no message names another, and the report says which rewrites were kept")
    func noReferences() {
        let document = (1...40).map { "Clause \($0) of the agreement applies." }.joined(separator: " ")
        let pretty = "{\n  \"rows\": [\n    1,\n    2\n  ]\n}"
        let messages = [message("user", document), message("tool", pretty), message("user", document), message("tool", pretty)]
        let (out, report) = compressor(CompressionOptions(references: false)).compress(messages: messages)
        #expect(out.map { $0["content"] } == [.string(document), .string(#"{"rows":[1,2]}"#), .string(document), .string(#"{"rows":[1,2]}"#)])
        #expect(report.transforms == [.jsonMinify])
        let referenced = compressor().compress(messages: messages)
        #expect(referenced.messages[2]["content"] == .string("[Same text as in message 1 above.]"))
        #expect(referenced.report.transforms == [.jsonMinify, .duplicateReference])
        #expect(compressor().compress(messages: [message("user", "a  b")]).report.transforms == [.whitespace])
        #expect(CompressionTransforms([.whitespace, .jsonMinify, .toolOutputCut]).names == ["json_minify", "tool_output_cut", "whitespace"])
    }

    @Test("a document pasted again inside a new question becomes one reference to the lines it repeats")
    func paragraphs() {
        let paragraph1 = (1...12).map { "The warranty covers part \($0) for two years." }.joined(separator: " ")
        let paragraph2 = (1...12).map { "Returns of item \($0) need a receipt." }.joined(separator: " ")
        let context = "Document 1:\n\(paragraph1)\n\n\(paragraph2)"
        let messages = [
            message("user", "\(context)\n\nQuestion: how long is the warranty?"),
            message("assistant", "Two years."),
            message("user", "\(context)\n\nQuestion: what do returns need?"),
        ]
        let (out, report) = compressor().compress(messages: messages)
        #expect(out[0] == messages[0])
        #expect(
            out[2]["content"]
                == .string(
                    "[The text of message 1, lines 1–4, repeated.]\n\nQuestion: what do returns need?"
                ))
        #expect(report.after[2] < report.before[2] / 4)
    }

    @Test("a licence of short paragraphs pasted again is one run, however short each paragraph")
    func shortParagraphs() {
        let licence = (1...20).map { "\($0). Keep this notice with every copy." }.joined(separator: "\n\n")
        let messages = [message("user", "Licence:\n\n\(licence)"), message("user", "And again:\n\n\(licence)\n\nIs it permissive?")]
        let out = compressor().compress(messages: messages).messages
        #expect(out[1]["content"] == .string("And again:\n\n[The text of message 1, lines 3–41, repeated.]\n\nIs it permissive?"))
        // No paragraph alone reaches the threshold, so a paragraph-by-paragraph match kept them all.
        #expect(tokenizer.count("20. Keep this notice with every copy.") < CompressionOptions().dedupMinTokens)
    }

    @Test("an excerpt from the middle of an earlier document names the lines it repeats")
    func excerpt() {
        let document = (1...30).map { "Line \($0) of the runbook: restart the worker, then check the queue." }
        let messages = [
            message("user", "Runbook:\n" + document.joined(separator: "\n")),
            message("user", "Explain this part:\n" + document[9..<20].joined(separator: "\n") + "\nThanks."),
        ]
        let out = compressor().compress(messages: messages).messages
        #expect(out[1]["content"] == .string("Explain this part:\n[The text of message 1, lines 11–21, repeated.]\nThanks."))
    }

    @Test("a reference names text the model sees: never lines that were themselves replaced")
    func referencesPointToVisibleText() throws {
        let a = (1...12).map { "Policy A, clause \($0): refunds are paid within thirty days of the request." }
        let b = (1...12).map { "Policy B, clause \($0): shipping is free above fifty euros in every region." }
        let messages = [
            message("user", a.joined(separator: "\n")),
            // A's clauses come back (a reference) followed by B, new here.
            message("user", (a + b).joined(separator: "\n")),
            // The end of A and all of B, contiguous in message 2's original text only.
            message("user", (a.suffix(6) + b).joined(separator: "\n")),
        ]
        let out = compressor().compress(messages: messages).messages
        #expect(out[1]["content"] == .string("[Same text as in message 1 above.]\n" + b.joined(separator: "\n")))
        #expect(
            out[2]["content"]
                == .string("[The text of message 1, lines 7–12, repeated.]\n[The text of message 2, lines 2–13, repeated.]"))
        #expect(try expandingReferences(out).map { $0.joined() } == messages.map { $0["content"]!.stringValue! })
    }

    @Test("re-wrapped and re-indented text counts as the same at aggressive only")
    func looseMatching() {
        let words = (1...60).map { "word\($0)" }
        func wrapped(_ width: Int, indent: String) -> String {
            var lines: [String] = [], line = ""
            for w in words {
                if !line.isEmpty, line.count + 1 + w.count > width {
                    lines.append(indent + line)
                    line = ""
                }
                line += line.isEmpty ? w : " " + w
            }
            return (lines + [indent + line]).joined(separator: "\n")
        }
        let messages = [message("user", "Text:\n\n" + wrapped(72, indent: "")), message("user", "Again:\n\n" + wrapped(60, indent: "  "))]
        let safe = compressor().compress(messages: messages).messages
        #expect(safe[1] == messages[1], "safe compares text exactly")
        let loose = compressor(CompressionOptions(level: .aggressive)).compress(messages: messages).messages
        #expect(loose[1]["content"] == .string("Again:\n\n[The text of message 1, line 3, repeated.]"))
        #expect(loose[0]["content"] == .string("Text:\n\n" + words.joined(separator: " ")), "the first copy is reflowed, one line")

        // Numbered clauses are not reflowed (a list keeps its lines), so they line up
        // paragraph by paragraph instead.
        let clauses = (1...8).map { n in "\(n). " + (1...14).map { "term\(n)x\($0)" }.joined(separator: " ") }
        func licence(_ width: Int) -> String {
            clauses.map { clause in
                var lines: [String] = [], line = ""
                for w in clause.split(separator: " ") {
                    if !line.isEmpty, line.count + 1 + w.count > width {
                        lines.append(line)
                        line = ""
                    }
                    line += line.isEmpty ? String(w) : " " + w
                }
                return (lines + [line]).joined(separator: "\n")
            }.joined(separator: "\n\n")
        }
        let list = [message("user", licence(72)), message("user", "Again:\n\n" + licence(50) + "\n\nWhich clause?")]
        #expect(compressor().compress(messages: list).messages[1] == list[1])
        let listed = compressor(CompressionOptions(level: .aggressive)).compress(messages: list).messages
        #expect(listed[0] == list[0], "the first copy keeps its lines")
        #expect(listed[1]["content"] == .string("Again:\n\n[Same text as in message 1 above.]\n\nWhich clause?"))
    }

    @Test("a run never starts or ends inside a code fence, and parts are named when a message has several")
    func fencesAndParts() {
        let code = (1...15).map { "    total += ledger.entry(\($0)).amount  # settle entry \($0)" }
        let first = JSONValue.object([
            "role": .string("user"),
            "content": .array([
                .object(["type": .string("text"), "text": .string("Intro.")]),
                .object(["type": .string("text"), "text": .string("```python\n" + code.joined(separator: "\n") + "\n```")]),
            ]),
        ])
        // The same lines inside another fence: a reference there would read as code.
        let inner = message("user", "```py\n" + code.joined(separator: "\n") + "\n```")
        let whole = message("user", "Same block:\n```python\n" + code.joined(separator: "\n") + "\n```\nOK?")
        let out = compressor().compress(messages: [first, inner, whole]).messages
        #expect(out[1] == inner)
        #expect(out[2]["content"] == .string("Same block:\n[Same text as in message 1 (text part 2) above.]\nOK?"))
    }

    @Test("the system message is left alone unless compression.system is on")
    func system() {
        let text = "Be   brief.\n\n\n\nAlways."
        #expect(compressor().compress(messages: [message("system", text)]).messages[0]["content"] == .string(text))
        #expect(
            compressor(CompressionOptions(system: true)).compress(messages: [message("system", text)]).messages[0]["content"]
                == .string("Be brief.\n\nAlways."))
    }

    @Test("off changes nothing")
    func off() {
        let messages = [message("user", "a   b\n\n\n\nc")]
        #expect(compressor(CompressionOptions(level: .off)).compress(messages: messages).messages == messages)
    }
}

/// Generated conversations for the invariants: pretty JSON tool results, prose with
/// stray whitespace, fenced code, repeated documents, multi-part content with images,
/// tool calls with pretty arguments, names and system messages.
struct ConversationGenerator {
    var rng: SplitMix64

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }

    mutating func text() -> String {
        switch rng.next() % 11 {
        case 9:
            // An excerpt of a document, from any line, with a question around it.
            let lines = pick(Self.documents).split(separator: "\n", omittingEmptySubsequences: false)
            let start = Int(rng.next() % UInt64(lines.count - 5))
            let end = start + 5 + Int(rng.next() % UInt64(lines.count - start - 5 + 1))
            return "From the document:\n" + lines[start..<end].joined(separator: "\n") + "\n\nWhat does this mean?"
        case 10:
            // A document of short paragraphs, none long enough alone, indented the second time.
            return (1...18).map { "\(rng.next() % 2 == 0 ? "    " : "")\($0). Notices stay with the copy." }.joined(separator: "\n\n")
        case 6: return "Patch:\n```python\n# helper \(rng.next() % 4)\nx = f('#not', \"//no\")  # why\n```\nand\n```js\n/* a */ let y = 2; // b\n```"
        case 7:
            return (0..<(3 + Int(rng.next() % 5))).map { _ in "the service answered every request within the agreed latency budget" }.joined(
                separator: "\n")
        case 8:
            return (0..<(100 + Int(rng.next() % 200))).map { "line \($0): worker \($0 % 5) finished a batch in \($0 * 7 % 90) ms" }.joined(
                separator: "\n")
        case 0:
            return
                "{\n  \"id\": \(rng.next() % 1000),\n  \"name\": \"item  \(rng.next() % 9)\",\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"price\": 1.250\n}"
        case 1: return "Some   prose with  spaces.   \n\n\n\nAnother paragraph \(rng.next() % 5).  "
        case 2: return "Look:\n```python\ndef f(x):\n    return  x   * 2   \n\n\n```\nDone   now."
        case 3: return pick(Self.documents)
        case 4: return "Data:\n```json\n{\n  \"k\": [1,  2],\n  \"s\": \"x  y\"\n}\n```\n"
        default: return "ok \(rng.next() % 3)"
        }
    }

    static let documents = [
        (1...50).map { "Section \($0): the tenant keeps the premises in good repair." }.joined(separator: "\n"),
        (1...30).map { "Log line \($0): request served in \($0 * 3) ms" }.joined(separator: "\n"),
    ]

    mutating func conversation() -> [JSONValue] {
        var messages: [JSONValue] = [message("system", "You  are   helpful.\n\n\n\nBe brief.   ")]
        for _ in 0..<(2 + Int(rng.next() % 7)) {
            switch rng.next() % 5 {
            case 0:
                messages.append(
                    .object([
                        "role": .string("user"),
                        "content": .array([
                            .object(["type": .string("text"), "text": .string(text())]),
                            .object(["type": .string("image_url"), "image_url": .object(["url": .string("https://example.com/a.png")])]),
                        ]),
                    ]))
            case 1:
                messages.append(
                    .object([
                        "role": .string("assistant"), "content": .null,
                        "tool_calls": .array([
                            .object([
                                "id": .string("call_1"), "type": .string("function"),
                                "function": .object(["name": .string("lookup"), "arguments": .string("{\n  \"q\":  \"x\"\n}")]),
                            ])
                        ]),
                    ]))
            case 2:
                messages.append(.object(["role": .string("tool"), "tool_call_id": .string("call_1"), "content": .string(text())]))
            case 3:
                messages.append(.object(["role": .string("user"), "name": .string("ana"), "content": .string(text())]))
            default:
                messages.append(message("assistant", text()))
            }
        }
        return messages
    }
}

@Suite("Compression: invariants over generated conversations")
struct CompressionInvariantTests {
    static let seeds: [UInt64] = Array(1...60)

    @Test("deterministic, prefix-stable, never grows, structure untouched", arguments: seeds, [CompressionLevel.safe, .aggressive])
    func invariants(seed: UInt64, level: CompressionLevel) throws {
        var generator = ConversationGenerator(rng: SplitMix64(state: seed))
        let messages = generator.conversation()
        let c = compressor(CompressionOptions(level: level, maxToolOutputTokens: 600))
        let (out, report) = c.compress(messages: messages)

        // 0. Every reference names earlier text the model still sees, and reading it in
        // its place gives back what compression without dedup would have sent.
        let plain = compressor(CompressionOptions(level: level, dedupMinTokens: .max, maxToolOutputTokens: 600)).compress(messages: messages)
        let expanded = try expandingReferences(out)
        for i in messages.indices where level == .safe || messages[i]["role"]?.stringValue != "tool" {
            let want = DuplicateRegistry.texts(of: plain.messages[i])
            #expect(level == .safe ? expanded[i] == want : expanded[i].map(folded) == want.map(folded), "message \(i + 1)")
        }

        // 1. Deterministic.
        #expect(c.compress(messages: messages).messages == out)
        // 2. Prefix-stable.
        for k in 1...messages.count {
            #expect(Array(c.compress(messages: Array(messages.prefix(k))).messages) == Array(out.prefix(k)), "prefix \(k)")
        }
        for (i, (before, after)) in zip(messages, out).enumerated() {
            // 3. Never grows, and the report is exact.
            #expect(report.after[i] <= report.before[i])
            let counted = DuplicateRegistry.texts(of: after).reduce(0) { $0 + tokenizer.count($1) }
            #expect(counted == report.after[i])
            // 4. Structure untouched: every member but the content, and every non-text part.
            #expect(before.members?.filter { $0.key != "content" } == after.members?.filter { $0.key != "content" })
            if case .array(let a)? = before["content"], case .array(let b)? = after["content"] {
                #expect(a.count == b.count)
                for (pa, pb) in zip(a, b) where pa["type"]?.stringValue != "text" { #expect(pa == pb) }
            }
            if before["role"]?.stringValue == "system" { #expect(before == after) }
            // aggressive keeps tool outputs within the limit.
            if level == .aggressive, before["role"]?.stringValue == "tool" { #expect(report.after[i] <= 600) }
            // safe never changes a parsed JSON value.
            if level == .safe, let text = before["content"]?.stringValue, let parsed = try? JSONValue.parse(text),
                let rewritten = after["content"]?.stringValue, !rewritten.hasPrefix("[Same")
            {
                #expect(try JSONValue.parse(rewritten) == parsed)
            }
        }
        // 5. Counting only what changed, as the sidecar does, sends the same messages and
        // saves the same tokens in every message.
        let lazy = PromptCompressor(options: c.options, tokenizer: tokenizer, countsUnchanged: false).compress(messages: messages)
        #expect(lazy.messages == out)
        #expect(zip(lazy.report.before, lazy.report.after).map(-) == zip(report.before, report.after).map(-))
    }

    @Test("the sidecar counts only the texts compression changed, and of them only the changed lines, and saves what a full count saves")
    func lazyCounting() {
        let lazy = PromptCompressor(options: CompressionOptions(level: .safe), tokenizer: tokenizer, countsUnchanged: false)
        let plain: [JSONValue] = [
            .object(["role": .string("system"), "content": .string("You are terse.")]),
            .object(["role": .string("user"), "content": .string("Say hello")]),
        ]
        let untouched = lazy.compress(messages: plain)
        #expect(untouched.messages == plain && untouched.report.before == [0, 0] && untouched.report.after == [0, 0])
        #expect(compressor().compress(messages: plain).report.before == [4, 2])
        let spaced = plain + [.object(["role": .string("user"), "content": .string("Say   hello   again,   please.")])]
        let changed = lazy.compress(messages: spaced)
        let full = compressor().compress(messages: spaced)
        #expect(changed.messages == full.messages)
        #expect(changed.report.saved > 0 && changed.report.saved == full.report.saved)
        // The system message and the first question were left as they were: not counted.
        #expect(changed.report.before == [0, 0, full.report.before[2]] && full.report.before[0] == 4)
        // Of a long text with one line tidied, only that line is counted.
        let manual = (1...40).map { "Paragraph \($0) of the manual explains the write-ahead log." }
        var tidied = manual
        tidied[20] += "   "
        let long = plain + [.object(["role": .string("user"), "content": .string(tidied.joined(separator: "\n"))])]
        let once = lazy.compress(messages: long)
        let whole = compressor().compress(messages: long)
        #expect(once.messages == whole.messages && once.report.saved == whole.report.saved && once.report.saved > 0)
        #expect(once.report.before[2] == tokenizer.count(tidied[20] + "\n"))
        #expect(whole.report.before[2] == tokenizer.count(tidied.joined(separator: "\n")))
    }
}

// MARK: aggressive

private let aggressive = CompressionOptions(level: .aggressive)

/// The code inside a fenced block of `language`, comments stripped as `aggressive` would.
private func stripped(_ language: String, _ code: String) -> String {
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

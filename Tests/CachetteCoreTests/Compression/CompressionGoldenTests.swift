@testable import CachetteCore
import Testing

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

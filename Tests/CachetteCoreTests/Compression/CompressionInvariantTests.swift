@testable import CachetteCore
import Testing

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

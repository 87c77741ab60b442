/// Cuts a tool output longer than a token budget down to its head and tail, with a
/// visible marker in the middle saying how much was cut (the `aggressive` level). A
/// command's first lines say what ran and its last lines how it ended; the middle of
/// a long log or listing is what a model can most often do without.
enum ToolOutputCut {
    /// The output in at most `maxTokens` tokens, marker included, or nil when it fits.
    /// Cuts fall on line ends; an output with too few lines for that (a minified JSON
    /// document) is cut between characters.
    static func cut(_ text: String, maxTokens: Int, counter: TokenCountMemo) -> String? {
        let bytes = Array(text.utf8)
        let pieces = bytes.withUnsafeBufferPointer { counter.pieces(utf8: $0) }
        let total = pieces.reduce(0) { $0 + $1.tokens }
        guard total > maxTokens else { return nil }
        // Room for the marker, whose figures are at most as long as the whole output's.
        var budget = maxTokens - counter.count(marker(tokens: total, lines: bytes.count)) - 4
        while budget > 0 {
            let (headEnd, tailStart) = byLines(pieces, budget: budget) ?? byTokens(bytes, budget: budget, tokenizer: counter.tokenizer)
            guard headEnd < tailStart else { return nil }
            let head = String(decoding: bytes[..<headEnd], as: UTF8.self)
            let tail = String(decoding: bytes[tailStart...], as: UTF8.self)
            let cutLines = bytes[headEnd..<tailStart].lazy.filter { $0 == UInt8(ascii: "\n") }.count
            let cutTokens = total - counter.count(head) - counter.count(tail)
            let result =
                head + (head.hasSuffix("\n") || head.isEmpty ? "" : "\n")
                + marker(tokens: max(cutTokens, 1), lines: cutLines) + "\n" + tail
            let count = counter.count(result)
            if count <= maxTokens { return result }
            // Joined at the cut points, the text tokenized differently: try a little shorter.
            budget -= count - maxTokens
        }
        return nil
    }

    static func marker(tokens: Int, lines: Int) -> String {
        "[… Cachette cut \(tokens) tokens (\(lines) lines) from the middle of this tool output …]"
    }

    /// Whole pieces (lines) from each end, each end within half the budget; nil when
    /// the lines are too long for that to keep at least half of it.
    private static func byLines(_ pieces: [(range: Range<Int>, tokens: Int)], budget: Int) -> (Int, Int)? {
        let headBudget = (budget + 1) / 2, tailBudget = budget / 2
        var head = 0, headTokens = 0
        while head < pieces.count, headTokens + pieces[head].tokens <= headBudget {
            headTokens += pieces[head].tokens
            head += 1
        }
        var tail = pieces.count, tailTokens = 0
        while tail > head, tailTokens + pieces[tail - 1].tokens <= tailBudget {
            tailTokens += pieces[tail - 1].tokens
            tail -= 1
        }
        guard head < tail, (headTokens + tailTokens) * 2 >= budget else { return nil }
        return (head == 0 ? 0 : pieces[head - 1].range.upperBound, pieces[tail].range.lowerBound)
    }

    /// Byte offsets after half the budget's tokens from the start and before half from
    /// the end, moved to character boundaries.
    private static func byTokens(_ bytes: [UInt8], budget: Int, tokenizer: Tokenizer) -> (Int, Int) {
        let tokens = bytes.withUnsafeBufferPointer { tokenizer.encode(utf8: $0) }
        let headTokens = min((budget + 1) / 2, tokens.count), tailTokens = min(budget / 2, tokens.count - headTokens)
        var headEnd = 0
        for token in tokens[..<headTokens] { headEnd += tokenizer.vocabulary.bytes(of: Int(token)).count }
        var tailStart = bytes.count
        for token in tokens[(tokens.count - tailTokens)...] { tailStart -= tokenizer.vocabulary.bytes(of: Int(token)).count }
        while headEnd > 0, headEnd < bytes.count, bytes[headEnd] & 0xC0 == 0x80 { headEnd -= 1 }
        while tailStart < bytes.count, bytes[tailStart] & 0xC0 == 0x80 { tailStart += 1 }
        return (headEnd, tailStart)
    }
}

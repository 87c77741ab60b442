import CXXHash

public enum CompressionLevel: String, Sendable, CaseIterable {
    case off
    /// Meaning-preserving: JSON minification, repeated runs of lines replaced by references, whitespace in prose.
    case safe
    /// `safe`, plus rewrites that may drop text: comments in fenced code, hard wraps in
    /// prose, and the middle of tool outputs over `maxToolOutputTokens`.
    case aggressive
}

public struct CompressionOptions: Sendable {
    public var level: CompressionLevel
    /// A run of lines repeated from an earlier message shorter than this (in tokens) is left alone.
    package var dedupMinTokens: Int
    /// Whether system (and developer) messages may be rewritten.
    public var system: Bool
    /// `aggressive` cuts a tool output longer than this to its head and tail.
    package var maxToolOutputTokens: Int
    /// Whether a message may name an earlier message's text instead of repeating it. Off
    /// for callers that put the messages back among others we never saw (LiteLLM's
    /// guardrail), where "message 2" would name another message.
    package var references: Bool
    /// Below this the head and tail would be little more than the marker between them.
    package static let minimumToolOutputTokens = 256

    public init(
        level: CompressionLevel = .safe, dedupMinTokens: Int = 64, system: Bool = false, maxToolOutputTokens: Int = 4096,
        references: Bool = true
    ) {
        self.level = level
        self.dedupMinTokens = dedupMinTokens
        self.system = system
        self.maxToolOutputTokens = maxToolOutputTokens
        self.references = references
    }
}

/// Prompt tokens of one request before and after compression.
package struct CompressionTally: Sendable, Equatable {
    public var before: Int
    public var after: Int
    public var saved: Int { before - after }

    public init(before: Int = 0, after: Int = 0) {
        self.before = before
        self.after = after
    }
}

/// Makes chat messages cheaper without changing what they say.
///
/// Invariants (each held by a property test):
/// - deterministic: the same messages always give the same bytes;
/// - prefix-stable: message i's result depends only on messages 1…i, so compressing a
///   conversation's first k messages gives a prefix of compressing all of them, and
///   providers' prefix caches keep hitting;
/// - never grows: a rewrite is kept only if the exact token count goes down;
/// - lossless at `safe`: only `aggressive` may drop text, and says where it cut;
/// - structure untouched: roles, names, tool-call ids and arguments, images and other
///   non-text parts stay as they are, and so does the system message unless `system`.
public struct PromptCompressor: Sendable {
    public let options: CompressionOptions
    let tokenizer: Tokenizer
    /// False: only what a rewrite changed is counted: no text it left alone, and of a
    /// text it changed only the pieces (lines, or stretches of a long line) that
    /// differ. The report's counts are then the sums of the pieces each kept rewrite
    /// replaced and of those that replaced them, and its `saved` is still exact. The
    /// sidecar needs only what was saved, and counting a whole prompt cost a miss
    /// about 28 µs a KB.
    let countsUnchanged: Bool

    public init(options: CompressionOptions, tokenizer: Tokenizer, countsUnchanged: Bool = true) {
        self.options = options
        self.tokenizer = tokenizer
        self.countsUnchanged = countsUnchanged
    }

    /// Tokens of each message's text before and after.
    public struct Report: Sendable, Equatable {
        public var before: [Int] = []
        public var after: [Int] = []
        /// The rewrites that were kept, in any message.
        package var transforms: CompressionTransforms = []
        public var saved: Int { before.reduce(0, +) - after.reduce(0, +) }
        package var tally: CompressionTally { CompressionTally(before: before.reduce(0, +), after: after.reduce(0, +)) }
    }

    public func compress(messages: [JSONValue]) -> (messages: [JSONValue], report: Report) {
        var report = Report()
        var seen = DuplicateRegistry(loose: options.level == .aggressive)
        let counter = TokenCountMemo(tokenizer: tokenizer)
        var out: [JSONValue] = []
        out.reserveCapacity(messages.count)
        // Texts left as they were, by message, when unchanged texts are counted: at the end.
        var uncounted: [(message: Int, text: String)] = []
        for (index, message) in messages.enumerated() {
            let role = message["role"]?.stringValue ?? ""
            // At `off` nothing is rewritten, but the report still counts every message.
            let eligible = options.level != .off && (options.system || (role != "system" && role != "developer"))
            let toolOutput = role == "tool" || role == "function"
            var before = 0, after = 0
            /// Compresses one text of this message, or leaves it, and books its counts.
            func rewrite(_ text: String) -> String {
                let result =
                    eligible
                    ? compress(text, seen: seen, toolOutput: toolOutput, counter: counter, transforms: &report.transforms)
                    : (text: text, counts: nil)
                if let counts = result.counts {
                    before += counts.before
                    after += counts.after
                } else if countsUnchanged {
                    uncounted.append((index, text))
                }
                return result.text
            }
            var rewritten = message
            if case .object(var members) = message, let at = members.firstIndex(where: { $0.key == "content" }) {
                switch members[at].value {
                case .string(let text):
                    members[at].value = .string(rewrite(text))
                case .array(var parts):
                    for p in parts.indices {
                        guard case .object(var fields) = parts[p], let type = parts[p]["type"]?.stringValue,
                            ResponseItems.textParts.contains(type),
                            let t = fields.firstIndex(where: { $0.key == "text" }), case .string(let text) = fields[t].value
                        else { continue }
                        fields[t].value = .string(rewrite(text))
                        parts[p] = .object(fields)
                    }
                    members[at].value = .array(parts)
                default:
                    break
                }
                rewritten = .object(members)
            }
            // As compressed, so references point to text the model sees; the last
            // message has nothing after it to refer to it.
            if options.references, index < messages.count - 1 { seen.register(rewritten, index: index) }
            out.append(rewritten)
            report.before.append(before)
            report.after.append(after)
        }
        for (message, text) in uncounted {
            let n = counter.count(text)
            report.before[message] += n
            report.after[message] += n
        }
        return (out, report)
    }

    /// A `/v1/completions` prompt: the same rewrites, without duplicate removal.
    public func compress(prompt: String) -> (prompt: String, before: Int, after: Int) {
        let counter = TokenCountMemo(tokenizer: tokenizer)
        var transforms = CompressionTransforms()
        let result =
            options.level == .off
            ? (text: prompt, counts: nil)
            : compress(prompt, seen: DuplicateRegistry(), toolOutput: false, counter: counter, transforms: &transforms)
        if let counts = result.counts { return (result.text, counts.before, counts.after) }
        let n = countsUnchanged ? counter.count(prompt) : 0
        return (prompt, n, n)
    }

    /// Applies each rewrite in turn, keeping it only if it lowers the token count.
    /// `counts` is nil when no rewrite changed a byte: then nothing was counted.
    private func compress(
        _ text: String, seen: DuplicateRegistry, toolOutput: Bool, counter: TokenCountMemo, transforms: inout CompressionTransforms
    ) -> (text: String, counts: (before: Int, after: Int)?) {
        // Rewrites change a few lines of a text: the memo counts only those again.
        var current = text
        var before: Int?, tokens = 0
        let aggressive = options.level == .aggressive
        // Without whole counts, only the pieces a rewrite changes are counted: the sums
        // of those it replaced and of those that replaced them. A tool output that
        // `aggressive` may cut needs its whole count anyway.
        let countsWhole = countsUnchanged || (aggressive && toolOutput)
        var replaced: (before: Int, after: Int)?
        func keep(ifSmaller candidate: String, _ transform: CompressionTransforms) {
            guard candidate != current else { return }
            guard countsWhole else {
                let (removed, added) = counter.difference(from: current, to: candidate)
                if added < removed {
                    current = candidate
                    replaced = ((replaced?.before ?? 0) + removed, (replaced?.after ?? 0) + added)
                    transforms.insert(transform)
                }
                return
            }
            if before == nil {
                before = counter.count(text)
                tokens = before ?? 0
            }
            let n = counter.count(candidate)
            if n < tokens {
                current = candidate
                tokens = n
                transforms.insert(transform)
            }
        }
        // A JSON document (a tool result, typically) is only ever minified or
        // deduplicated whole: it has no prose, fences or lines to look at.
        if let minified = JSONMinifier.minify(text[...].utf8) {
            keep(ifSmaller: String(decoding: minified, as: UTF8.self), .jsonMinify)
            keep(ifSmaller: seen.replacingWhole(current, minTokens: options.dedupMinTokens, counter: counter) ?? current, .duplicateReference)
        } else {
            keep(ifSmaller: TextTransforms.minifyJSON(current), .jsonMinify)
            if aggressive {
                keep(ifSmaller: TextTransforms.stripComments(current), .codeComments)
                // A tool's output is data: its line breaks are the tool's, not a wrap.
                if !toolOutput { keep(ifSmaller: ProseReflow.reflow(current), .proseReflow) }
            }
            keep(ifSmaller: TextTransforms.normalizeWhitespace(current), .whitespace)
            // Last, so earlier messages' text, registered as compressed, is compared in
            // the same form.
            keep(ifSmaller: seen.replacingRuns(in: current, minTokens: options.dedupMinTokens, counter: counter), .duplicateReference)
        }
        if aggressive, toolOutput, (before == nil ? counter.count(text) : tokens) > options.maxToolOutputTokens,
            let cut = ToolOutputCut.cut(current, maxTokens: options.maxToolOutputTokens, counter: counter)
        {
            keep(ifSmaller: cut, .toolOutputCut)
        }
        guard countsWhole else { return (current, replaced) }
        return (current, before.map { ($0, tokens) })
    }
}

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
    public var dedupMinTokens: Int
    /// Whether system (and developer) messages may be rewritten.
    public var system: Bool
    /// `aggressive` cuts a tool output longer than this to its head and tail.
    public var maxToolOutputTokens: Int
    /// Below this the head and tail would be little more than the marker between them.
    public static let minimumToolOutputTokens = 256

    public init(level: CompressionLevel = .safe, dedupMinTokens: Int = 64, system: Bool = false, maxToolOutputTokens: Int = 4096) {
        self.level = level
        self.dedupMinTokens = dedupMinTokens
        self.system = system
        self.maxToolOutputTokens = maxToolOutputTokens
    }
}

/// Prompt tokens of one request before and after compression.
public struct CompressionTally: Sendable, Equatable {
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

    public init(options: CompressionOptions, tokenizer: Tokenizer) {
        self.options = options
        self.tokenizer = tokenizer
    }

    /// Tokens of each message's text before and after.
    public struct Report: Sendable, Equatable {
        public var before: [Int] = []
        public var after: [Int] = []
        public var saved: Int { before.reduce(0, +) - after.reduce(0, +) }
        public var tally: CompressionTally { CompressionTally(before: before.reduce(0, +), after: after.reduce(0, +)) }
    }

    public func compress(messages: [JSONValue]) -> (messages: [JSONValue], report: Report) {
        var report = Report()
        var seen = DuplicateRegistry(loose: options.level == .aggressive)
        let counter = TokenCountMemo(tokenizer: tokenizer)
        var out: [JSONValue] = []
        out.reserveCapacity(messages.count)
        for (index, message) in messages.enumerated() {
            let role = message["role"]?.stringValue ?? ""
            // At `off` nothing is rewritten, but the report still counts every message.
            let eligible = options.level != .off && (options.system || (role != "system" && role != "developer"))
            let toolOutput = role == "tool" || role == "function"
            var before = 0, after = 0
            var rewritten = message
            if case .object(var members) = message, let at = members.firstIndex(where: { $0.key == "content" }) {
                switch members[at].value {
                case .string(let text):
                    let result = eligible ? compress(text, seen: seen, toolOutput: toolOutput, counter: counter) : unchanged(text, counter)
                    members[at].value = .string(result.0)
                    before += result.1
                    after += result.2
                case .array(var parts):
                    for p in parts.indices {
                        guard case .object(var fields) = parts[p], let type = parts[p]["type"]?.stringValue,
                            ResponseItems.textParts.contains(type),
                            let t = fields.firstIndex(where: { $0.key == "text" }), case .string(let text) = fields[t].value
                        else { continue }
                        let result = eligible ? compress(text, seen: seen, toolOutput: toolOutput, counter: counter) : unchanged(text, counter)
                        fields[t].value = .string(result.0)
                        parts[p] = .object(fields)
                        before += result.1
                        after += result.2
                    }
                    members[at].value = .array(parts)
                default:
                    break
                }
                rewritten = .object(members)
            }
            // As compressed, so references point to text the model sees; the last
            // message has nothing after it to refer to it.
            if index < messages.count - 1 { seen.register(rewritten, index: index) }
            out.append(rewritten)
            report.before.append(before)
            report.after.append(after)
        }
        return (out, report)
    }

    /// A `/v1/completions` prompt: the same rewrites, without duplicate removal.
    public func compress(prompt: String) -> (prompt: String, before: Int, after: Int) {
        let counter = TokenCountMemo(tokenizer: tokenizer)
        guard options.level != .off else { return unchanged(prompt, counter) }
        return compress(prompt, seen: DuplicateRegistry(), toolOutput: false, counter: counter)
    }

    private func unchanged(_ text: String, _ counter: TokenCountMemo) -> (String, Int, Int) {
        let n = counter.count(text)
        return (text, n, n)
    }

    /// Applies each rewrite in turn, keeping it only if it lowers the token count.
    private func compress(_ text: String, seen: DuplicateRegistry, toolOutput: Bool, counter: TokenCountMemo) -> (String, Int, Int) {
        // Rewrites change a few lines of a text: the memo counts only those again.
        let before = counter.count(text)
        var current = text, tokens = before
        func keep(ifSmaller candidate: String) {
            guard candidate != current else { return }
            let n = counter.count(candidate)
            if n < tokens {
                current = candidate
                tokens = n
            }
        }
        let aggressive = options.level == .aggressive
        // A JSON document (a tool result, typically) is only ever minified or
        // deduplicated whole: it has no prose, fences or lines to look at.
        if let minified = JSONMinifier.minify(text[...].utf8) {
            keep(ifSmaller: String(decoding: minified, as: UTF8.self))
            keep(ifSmaller: seen.replacingWhole(current, minTokens: options.dedupMinTokens, counter: counter) ?? current)
        } else {
            keep(ifSmaller: TextTransforms.minifyJSON(current))
            if aggressive {
                keep(ifSmaller: TextTransforms.stripComments(current))
                // A tool's output is data: its line breaks are the tool's, not a wrap.
                if !toolOutput { keep(ifSmaller: ProseReflow.reflow(current)) }
            }
            keep(ifSmaller: TextTransforms.normalizeWhitespace(current))
            // Last, so earlier messages' text, registered as compressed, is compared in
            // the same form.
            keep(ifSmaller: seen.replacingRuns(in: current, minTokens: options.dedupMinTokens, counter: counter))
        }
        if aggressive, toolOutput, tokens > options.maxToolOutputTokens,
            let cut = ToolOutputCut.cut(current, maxTokens: options.maxToolOutputTokens, counter: counter)
        {
            keep(ifSmaller: cut)
        }
        return (current, before, tokens)
    }
}

import CXXHash

public enum CompressionLevel: String, Sendable, CaseIterable {
    case off
    /// Meaning-preserving: JSON minification, duplicate removal, whitespace in prose.
    case safe
    /// `safe`, plus rewrites that may drop text: comments in fenced code, hard wraps in
    /// prose, and the middle of tool outputs over `maxToolOutputTokens`.
    case aggressive
}

public struct CompressionOptions: Sendable {
    public var level: CompressionLevel
    /// A repeated block shorter than this (in tokens) is left alone.
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
        var seen = DuplicateRegistry()
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
            // Only after the message is done, so a message never refers to itself.
            seen.register(message, index: index)
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
        // A JSON document (a tool result, typically) is only ever deduplicated whole or
        // minified: it has no prose, fences or paragraphs to look at.
        if let minified = JSONMinifier.minify(text[...].utf8) {
            keep(ifSmaller: seen.replacingWhole(text, minTokens: options.dedupMinTokens, tokenizer: tokenizer) ?? text)
            if current == text { keep(ifSmaller: String(decoding: minified, as: UTF8.self)) }
        } else {
            keep(ifSmaller: seen.replacingDuplicates(in: current, minTokens: options.dedupMinTokens, tokenizer: tokenizer))
            keep(ifSmaller: TextTransforms.minifyJSON(current))
            if aggressive {
                keep(ifSmaller: TextTransforms.stripComments(current))
                // A tool's output is data: its line breaks are the tool's, not a wrap.
                if !toolOutput { keep(ifSmaller: ProseReflow.reflow(current)) }
            }
            keep(ifSmaller: TextTransforms.normalizeWhitespace(current))
        }
        if aggressive, toolOutput, tokens > options.maxToolOutputTokens,
            let cut = ToolOutputCut.cut(current, maxTokens: options.maxToolOutputTokens, counter: counter)
        {
            keep(ifSmaller: cut)
        }
        return (current, before, tokens)
    }
}

/// Text blocks seen in earlier messages: whole message texts, fenced blocks and prose
/// paragraphs (a pasted document re-sent inside a new question), by hash, with the
/// bytes kept to rule out collisions.
struct DuplicateRegistry {
    private var blocks: [CacheKey: (message: Int, text: String)] = [:]

    private static func key(_ text: some StringProtocol) -> CacheKey {
        if let key = text.utf8.withContiguousStorageIfAvailable({ CacheKey(hashing: UnsafeRawBufferPointer($0)) }) { return key }
        var copy = String(text)
        return copy.withUTF8 { CacheKey(hashing: UnsafeRawBufferPointer($0)) }
    }

    mutating func register(_ message: JSONValue, index: Int) {
        for text in Self.texts(of: message) {
            add(text, index: index)
            // A JSON document is only ever matched whole.
            if JSONMinifier.isDocument(text) { continue }
            for segment in TextTransforms.segments(text) {
                if segment.fence != nil {
                    add(String(segment.text), index: index)
                } else {
                    for paragraph in Self.paragraphs(segment.text) { add(String(paragraph), index: index) }
                }
            }
        }
    }

    /// Prose split at blank lines ("\n\n"), scanning bytes.
    static func paragraphs(_ prose: Substring) -> [Substring] {
        var out: [Substring] = []
        let bytes = prose.utf8
        var start = bytes.startIndex, i = bytes.startIndex
        while i < bytes.endIndex {
            let next = bytes.index(after: i)
            if bytes[i] == UInt8(ascii: "\n"), next < bytes.endIndex, bytes[next] == UInt8(ascii: "\n") {
                out.append(Substring(bytes[start..<i]))
                start = bytes.index(after: next)
                i = start
                continue
            }
            i = next
        }
        out.append(Substring(bytes[start..<bytes.endIndex]))
        return out
    }

    private mutating func add(_ text: String, index: Int) {
        let key = Self.key(text)
        if blocks[key] == nil { blocks[key] = (index, text) }
    }

    private func earlier(_ text: some StringProtocol, minTokens: Int, tokenizer: Tokenizer) -> Int? {
        // A token is at least one byte: shorter text cannot reach the threshold.
        guard text.utf8.count >= minTokens, let found = blocks[Self.key(text)], found.text == text else { return nil }
        return tokenizer.count(String(text)) >= minTokens ? found.message : nil
    }

    /// A reference to the earlier message that had exactly this text, if one did.
    func replacingWhole(_ text: String, minTokens: Int, tokenizer: Tokenizer) -> String? {
        earlier(text, minTokens: minTokens, tokenizer: tokenizer).map { "[Same text as in message \($0 + 1) above.]" }
    }

    /// The whole text, or each fenced block or prose paragraph, replaced by a reference
    /// if an earlier message had it. Not for JSON documents, whose paragraphs are data.
    func replacingDuplicates(in text: String, minTokens: Int, tokenizer: Tokenizer) -> String {
        if let whole = replacingWhole(text, minTokens: minTokens, tokenizer: tokenizer) { return whole }
        var segments = TextTransforms.segments(text)
        var changed = false
        for i in segments.indices {
            if segments[i].fence != nil {
                if let message = earlier(segments[i].text, minTokens: minTokens, tokenizer: tokenizer) {
                    segments[i].text = "[Same code block as in message \(message + 1) above.]"
                    changed = true
                }
                continue
            }
            var paragraphs = Self.paragraphs(segments[i].text)
            var replaced = false
            for p in paragraphs.indices {
                if let message = earlier(paragraphs[p], minTokens: minTokens, tokenizer: tokenizer) {
                    paragraphs[p] = "[Same paragraph as in message \(message + 1) above.]"
                    replaced = true
                }
            }
            if replaced {
                segments[i].text = Substring(paragraphs.joined(separator: "\n\n"))
                changed = true
            }
        }
        return changed ? TextTransforms.join(segments) : text
    }

    static func texts(of message: JSONValue) -> [String] {
        switch message["content"] {
        case .string(let text)?: return [text]
        case .array(let parts)?:
            return parts.compactMap { part in
                part["type"]?.stringValue.map(ResponseItems.textParts.contains) == true ? part["text"]?.stringValue : nil
            }
        default: return []
        }
    }
}

import Synchronization

/// Adds Anthropic `cache_control` breakpoints to a Messages request that carries none,
/// where `BreakpointPlan` expects them to pay. Only the markers are added: the body is
/// otherwise the same bytes, except that a marked `system` or `content` string is
/// written as the one text block it stands for (a string cannot carry a marker).
package final class PromptCacheSteering: Sendable {
    /// The shortest prefix a model family caches, in Claude's tokens.
    package struct Minimum: Sendable, Equatable {
        package var pattern: String
        public var tokens: Int
        package init(_ pattern: String, _ tokens: Int) {
            self.pattern = pattern
            self.tokens = tokens
        }
    }

    package struct Settings: Sendable, Equatable {
        /// First match wins; a model that matches none takes `defaultMinimum`.
        package var minimums: [Minimum] = Settings.documentedMinimums
        package var defaultMinimum = 1024
        /// Our tokenizer is not Claude's: a prefix must count this much more, in percent.
        package var marginPercent = 10
        /// `prompt_cache.max_prefixes`.
        package var maxPrefixes = 50_000

        /// Anthropic's documented minimums.
        package static let documentedMinimums: [Minimum] = [
            Minimum("claude-opus-4-5*", 4096), Minimum("claude-haiku-4-5*", 4096),
            Minimum("claude-3-5-haiku*", 2048), Minimum("claude-3-haiku*", 2048),
        ]

        package init() {}

        /// The tokens (ours) a prefix of `model` needs before it is marked.
        package func threshold(for model: String) -> Int {
            let name = model.lowercased().split(separator: "/").last.map(String.init) ?? model
            let tokens = minimums.first { Glob.matches($0.pattern, name) }?.tokens ?? defaultMinimum
            // Both are bounded when the config is read.
            return tokens + tokens * marginPercent / 100
        }
    }

    package struct Counters: Sendable, Equatable {
        package var breakpointsAdded = 0
        /// Markers left out because a read was not expected to repay the write.
        package var markersSkipped = 0
        /// Markers left out because the prefix was shorter than the model's minimum.
        package var markersTooShort = 0
        /// Requests left alone because the client placed its own markers.
        package var clientMarked = 0
        package var prefixesRemembered = 0
    }

    package let settings: Settings
    let memory: PrefixMemory
    private let added = Atomic<Int>(0)
    private let skipped = Atomic<Int>(0)
    private let short = Atomic<Int>(0)
    private let clientMarked = Atomic<Int>(0)

    package init(settings: Settings) {
        self.settings = settings
        memory = PrefixMemory(capacity: settings.maxPrefixes)
    }

    package var counters: Counters {
        Counters(
            breakpointsAdded: added.load(ordering: .relaxed), markersSkipped: skipped.load(ordering: .relaxed),
            markersTooShort: short.load(ordering: .relaxed), clientMarked: clientMarked.load(ordering: .relaxed),
            prefixesRemembered: memory.count)
    }

    /// The body with markers added, or nil to send it as it is. `credential` is hashed,
    /// never kept.
    package func steer(_ body: UnsafeRawBufferPointer, credential: String, model: String, tokenizer: Tokenizer?, now: Double) -> [UInt8]? {
        guard let request = MessagesBlocks(body, scope: credential, model: model), !request.blocks.isEmpty else { return nil }
        if request.clientMarked {
            clientMarked.add(1, ordering: .relaxed)
            return nil
        }
        let scope = CacheKey(hashing: Array(credential.utf8) + [0xFF])
        let threshold = settings.threshold(for: model)
        // A token is at least a byte: fewer bytes than the minimum cannot be long enough.
        let longStable = request.stableEnd.map { request.blocks[...$0].reduce(0) { $0 + $1.span.count } >= threshold } ?? false
        let plan = memory.plan(request, scope: scope, longStable: longStable, now: now)
        if plan.skipped > 0 { skipped.add(plan.skipped, ordering: .relaxed) }
        guard !plan.marks.isEmpty else { return nil }
        var marks = plan.marks
        // Counted once per prefix: what the memory knows to be long is not counted again.
        if let first = marks.first?.block, plan.knownLongFrom.map({ first < $0 }) ?? true {
            let longFrom = Self.longFrom(request.blocks, in: body, threshold: threshold, tokenizer: tokenizer)
            marks = plan.marks.filter { $0.block >= longFrom }
            if marks.count < plan.marks.count { short.add(plan.marks.count - marks.count, ordering: .relaxed) }
            var long = marks.map { request.prefixes[$0.block] }
            if let end = request.stableEnd, end >= longFrom { long.append(request.prefixes[end]) }
            memory.counted(short: plan.marks.filter { $0.block < longFrom }.map { request.prefixes[$0.block] }, long: long)
        }
        guard !marks.isEmpty else { return nil }
        added.add(marks.count, ordering: .relaxed)
        return Self.splice(body, blocks: request.blocks, marks: marks)
    }

    /// The first block through which the prefix has `threshold` tokens; counting stops there.
    static func longFrom(_ blocks: [MessagesBlocks.Block], in body: UnsafeRawBufferPointer, threshold: Int, tokenizer: Tokenizer?) -> Int {
        guard let tokenizer else { return blocks.count }
        var tokens = 0
        var bytes = 0
        var counting = false
        for (index, block) in blocks.enumerated() {
            // A token is at least a byte: a prefix of fewer bytes is short, uncounted.
            bytes += block.span.count
            guard bytes >= threshold else { continue }
            if !counting {
                counting = true
                for earlier in blocks[..<index] { tokens += count(earlier, in: body, tokenizer: tokenizer) }
            }
            tokens += count(block, in: body, tokenizer: tokenizer)
            if tokens >= threshold { return index }
        }
        return blocks.count
    }

    private static func count(_ block: MessagesBlocks.Block, in body: UnsafeRawBufferPointer, tokenizer: Tokenizer) -> Int {
        guard let value = try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: body[block.span])) else { return 0 }
        var texts: [String] = []
        PromptCacheKey.strings(in: value, into: &texts)
        return texts.reduce(0) { $0 + tokenizer.count($1) }
    }

    static let ephemeral = Array(#""cache_control":{"type":"ephemeral"}"#.utf8)
    static let ephemeralHour = Array(#""cache_control":{"type":"ephemeral","ttl":"1h"}"#.utf8)

    /// The body with each marked block's `cache_control` written in; nothing else moves.
    static func splice(_ body: UnsafeRawBufferPointer, blocks: [MessagesBlocks.Block], marks: [BreakpointPlan.Mark]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + marks.count * 64)
        var copied = 0
        // In the order of the bytes, which need not be the render order: `tools` may come last.
        for mark in marks.sorted(by: { blocks[$0.block].span.lowerBound < blocks[$1.block].span.lowerBound }) {
            let block = blocks[mark.block]
            let control = mark.hour ? ephemeralHour : ephemeral
            if block.isString {
                out += body[copied..<block.span.lowerBound]
                out += #"[{"type":"text","text":"#.utf8
                out += body[block.span]
                out.append(UInt8(ascii: ","))
                out += control
                out += "}]".utf8
                copied = block.span.upperBound
            } else {
                let close = block.span.upperBound - 1
                out += body[copied..<close]
                if !block.isEmptyObject { out.append(UInt8(ascii: ",")) }
                out += control
                copied = close
            }
        }
        out += body[copied...]
        return out
    }
}

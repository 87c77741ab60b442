import CXXHash

/// A text cut into the units runs are made of — lines, or paragraphs — with what each
/// is compared by and where a run may start and end.
struct TextUnits {
    enum Grain {
        /// Every line, blank ones too (they belong to a run's contiguity).
        case line
        /// Each paragraph of prose (lines between blank lines) and each line of code,
        /// blank lines skipped: re-wrapped text lines up paragraph by paragraph.
        case paragraph
    }

    /// The text's lines as written.
    let raw: [Substring]
    private(set) var units: [Unit] = []

    struct Unit {
        /// What the unit is compared by: its text, or with whitespace folded (`loose`, prose).
        let text: Substring
        let key: UInt64
        /// The lines of `raw` it covers.
        let span: Range<Int>
        /// Runs start at a unit with text, outside a fence or on its opening line, and
        /// end at one outside a fence or on its closing line.
        let mayStart: Bool
        let mayEnd: Bool
        /// Blank lines are never looked up: too common to start anything.
        let indexed: Bool
    }

    fileprivate enum Kind {
        case prose, open, code, close
    }

    /// The text cut at each grain, its lines found once.
    static func split(_ text: String, grains: [Grain], loose: Bool) -> [TextUnits] {
        let raw = TextTransforms.lines(text[...])
        let kinds = Self.kinds(raw, mayHaveFence: TextTransforms.mayHaveFence(text))
        return grains.map { TextUnits(raw: raw, kinds: kinds, grain: $0, loose: loose) }
    }

    private init(raw: [Substring], kinds: [Kind], grain: Grain, loose: Bool) {
        self.raw = raw
        units.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let blank = Self.isBlank(raw[i])
            if grain == .paragraph, kinds[i] == .prose {
                guard !blank else {
                    i += 1
                    continue
                }
                var end = i + 1
                while end < raw.count, kinds[end] == .prose, !Self.isBlank(raw[end]) { end += 1 }
                append(Self.folded(raw[i..<end].joined(separator: " ")[...]), span: i..<end, start: true, end: true, indexed: true)
                i = end
                continue
            }
            let unit = loose && kinds[i] == .prose ? Self.folded(raw[i]) : raw[i]
            append(
                unit, span: i..<(i + 1), start: !blank && (kinds[i] == .prose || kinds[i] == .open),
                end: !blank && (kinds[i] == .prose || kinds[i] == .close), indexed: !blank)
            i += 1
        }
    }

    private mutating func append(_ text: Substring, span: Range<Int>, start: Bool, end: Bool, indexed: Bool) {
        let key = TextTransforms.withBytes(text) { XXH3_64bits($0.baseAddress, $0.count) }
        units.append(Unit(text: text, key: key, span: span, mayStart: start, mayEnd: end, indexed: indexed))
    }

    private static func isBlank(_ line: Substring) -> Bool {
        line.utf8.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
    }

    /// Each line's place relative to fences, as `TextTransforms.segments` reads them; an
    /// unclosed fence runs to the end, its last line closing it.
    private static func kinds(_ lines: [Substring], mayHaveFence: Bool) -> [Kind] {
        guard mayHaveFence else { return Array(repeating: .prose, count: lines.count) }
        var kinds: [Kind] = []
        kinds.reserveCapacity(lines.count)
        var open: Substring?
        for line in lines {
            if let marker = open {
                if let closing = TextTransforms.fenceMarker(line), closing.marker.hasPrefix(marker), closing.info.isEmpty {
                    kinds.append(.close)
                    open = nil
                } else {
                    kinds.append(.code)
                }
            } else if let marker = TextTransforms.fenceMarker(line) {
                kinds.append(.open)
                open = marker.marker
            } else {
                kinds.append(.prose)
            }
        }
        if open != nil, let last = kinds.indices.last, kinds[last] == .code { kinds[last] = .close }
        return kinds
    }
    /// The text without leading and trailing whitespace, inner runs of it one space.
    private static func folded(_ line: Substring) -> Substring {
        // Most lines are already folded: checked without building anything.
        let tidy = TextTransforms.withBytes(line) { bytes in
            var previous = UInt8(ascii: " ")
            for b in bytes {
                if b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") || (b == UInt8(ascii: " ") && previous == b) { return false }
                previous = b
            }
            return previous != UInt8(ascii: " ")
        }
        if tidy { return line }
        var out: [UInt8] = []
        out.reserveCapacity(line.utf8.count)
        var pendingSpace = false, changed = false
        for b in line.utf8 {
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") {
                // Kept as written only when it is one space between two words.
                changed = changed || pendingSpace || out.isEmpty || b != UInt8(ascii: " ")
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(UInt8(ascii: " ")) }
                pendingSpace = false
                out.append(b)
            }
        }
        changed = changed || pendingSpace
        return changed ? Substring(String(decoding: out, as: UTF8.self)) : line
    }
}

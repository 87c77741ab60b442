import CXXHash

/// The text of earlier messages as the model sees it (compressed), line by line, so a
/// later message can replace any run of lines it repeats — a document pasted again, an
/// excerpt of one, a paragraph — with a reference to where that text stands.
///
/// Runs, not paragraphs: a re-pasted licence made of many short paragraphs is one run,
/// counted against `minTokens` as a whole. Only compressed text is registered, so a
/// reference always points to lines the model still sees, never to text that was itself
/// replaced by a reference.
struct DuplicateRegistry {
    /// Whether lines that differ only in whitespace (indentation, spaces, re-wrapping once
    /// reflowed) count as the same text: `aggressive` only, and never inside code fences.
    let loose: Bool

    /// One text part of an earlier message, as compressed.
    private struct Source {
        let message: Int
        /// Its number among the message's text parts, when it has several.
        let part: Int?
        let lines: Lines
    }

    private struct Place {
        let source: Int32
        let line: Int32
    }

    private var sources: [Source] = []
    private var places: [UInt64: [Place]] = [:]
    private var wholes: [CacheKey: Int] = [:]
    /// A line as common as "}" would make every lookup slow; the earliest places suffice.
    static let placesPerLine = 16

    init(loose: Bool = false) {
        self.loose = loose
    }

    /// Adds a message's text parts, as compressed, once the message is done (a message
    /// never refers to itself).
    mutating func register(_ message: JSONValue, index: Int) {
        let texts = Self.texts(of: message)
        for (p, text) in texts.enumerated() {
            let source = Int32(truncatingIfNeeded: sources.count)
            let lines = Lines(text, loose: loose)
            for i in lines.units.indices where !lines.isBlank(i) {
                let key = lines.keys[i]
                if places[key, default: []].count < Self.placesPerLine {
                    places[key, default: []].append(Place(source: source, line: Int32(truncatingIfNeeded: i)))
                }
            }
            let whole = Self.key(text[...])
            if wholes[whole] == nil { wholes[whole] = sources.count }
            sources.append(Source(message: index, part: texts.count > 1 ? p : nil, lines: lines))
        }
    }

    /// A reference to the earlier text part that was exactly this text, if one was and
    /// the text has at least `minTokens` tokens. The only dedup a JSON document gets.
    func replacingWhole(_ text: String, minTokens: Int, counter: TokenCountMemo) -> String? {
        // A token is at least one byte: shorter text cannot reach the threshold.
        guard text.utf8.count >= minTokens, let at = wholes[Self.key(text[...])],
            sources[at].lines.text.utf8.elementsEqual(text.utf8), counter.count(text) >= minTokens
        else { return nil }
        return "[Same text as in \(Self.name(sources[at])) above.]"
    }

    /// The text with each run of consecutive lines that an earlier text part had,
    /// contiguous and of at least `minTokens` tokens, replaced by one line naming where
    /// that text stands. A run never starts or ends inside a code fence, so fences stay
    /// whole. Not for JSON documents, whose lines are data.
    func replacingRuns(in text: String, minTokens: Int, counter: TokenCountMemo) -> String {
        guard !places.isEmpty, text.utf8.count >= minTokens else { return text }
        if let whole = replacingWhole(text, minTokens: minTokens, counter: counter) { return whole }
        let lines = Lines(text, loose: loose)
        let n = lines.units.count
        var out: [Substring] = []
        var copied = 0
        var i = 0
        while i < n {
            guard lines.mayStartRun(i), let found = longestRun(at: i, in: lines) else {
                i += 1
                continue
            }
            var end = i + found.length
            while end > i, !lines.mayEndRun(end - 1) { end -= 1 }
            // Bytes first: a token is at least one, and most short runs stop there.
            let bytes = lines.raw[i..<end].reduce(end - i - 1) { $0 + $1.utf8.count }
            guard end > i, bytes >= minTokens, counter.count(lines.raw[i..<end].joined(separator: "\n")) >= minTokens else {
                i += 1
                continue
            }
            let source = sources[Int(found.place.source)]
            let first = Int(found.place.line)
            let last = first + (end - i) - 1
            // All of an earlier text is named as such, wherever it stands in this one.
            let reference =
                first == 0 && last == source.lines.units.count - 1
                ? "[Same text as in \(Self.name(source)) above.]"
                : "[The text of \(Self.name(source)), \(first == last ? "line \(first + 1)" : "lines \(first + 1)–\(last + 1)"), repeated.]"
            out.append(contentsOf: lines.raw[copied..<i])
            out.append(Substring(reference))
            copied = end
            i = end
        }
        guard copied > 0 else { return text }
        out.append(contentsOf: lines.raw[copied..<n])
        return out.joined(separator: "\n")
    }

    /// The longest run of lines from `start` that some earlier text part has, contiguous;
    /// the earliest such place on a tie.
    private func longestRun(at start: Int, in lines: Lines) -> (place: Place, length: Int)? {
        guard let candidates = places[lines.keys[start]] else { return nil }
        var best: (place: Place, length: Int)?
        for place in candidates {
            let other = sources[Int(place.source)].lines
            var length = 0
            var a = start, b = Int(place.line)
            while a < lines.units.count, b < other.units.count, lines.keys[a] == other.keys[b],
                lines.units[a].utf8.elementsEqual(other.units[b].utf8)
            {
                length += 1
                a += 1
                b += 1
            }
            if length > (best?.length ?? 0) { best = (place, length) }
        }
        return best
    }

    private static func name(_ source: Source) -> String {
        "message \(source.message + 1)" + (source.part.map { " (text part \($0 + 1))" } ?? "")
    }

    private static func key(_ text: Substring) -> CacheKey {
        TextTransforms.withBytes(text) { CacheKey(hashing: UnsafeRawBufferPointer($0)) }
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

/// A text's lines, what each is compared by, and where code fences stand.
private struct Lines {
    let text: String
    /// The lines as written.
    let raw: [Substring]
    /// What a line is compared by: the line itself, or with whitespace folded (`loose`,
    /// outside fences).
    let units: [Substring]
    let keys: [UInt64]
    private let kinds: [Kind]

    enum Kind {
        case prose, open, code, close
    }

    init(_ text: String, loose: Bool) {
        self.text = text
        raw = TextTransforms.lines(text[...])
        kinds = Self.kinds(raw, mayHaveFence: TextTransforms.mayHaveFence(text))
        var units = raw
        if loose {
            for i in units.indices where kinds[i] == .prose { units[i] = Self.folded(units[i]) }
        }
        self.units = units
        keys = units.map { line in TextTransforms.withBytes(line) { XXH3_64bits($0.baseAddress, $0.count) } }
    }

    func isBlank(_ i: Int) -> Bool { raw[i].utf8.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") } }

    /// Runs start on a line with text, outside a fence or on its opening line.
    func mayStartRun(_ i: Int) -> Bool { !isBlank(i) && (kinds[i] == .prose || kinds[i] == .open) }

    /// Runs end on a line with text, outside a fence or on its closing line.
    func mayEndRun(_ i: Int) -> Bool { !isBlank(i) && (kinds[i] == .prose || kinds[i] == .close) }

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

    /// The line without leading and trailing whitespace, inner runs of it one space.
    private static func folded(_ line: Substring) -> Substring {
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

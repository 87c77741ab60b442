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
    /// Whether text that differs only in whitespace (indentation, spaces, line breaks
    /// inside a paragraph) counts as the same: `aggressive` only, never inside code fences.
    let loose: Bool

    /// One text part of an earlier message, as compressed.
    private struct Source {
        let message: Int
        /// Its number among the message's text parts, when it has several.
        let part: Int?
        let text: String
        /// Lines, then (`loose`) paragraphs.
        let grains: [TextUnits]
    }

    private struct Place {
        let source: Int32
        let unit: Int32
    }

    private var sources: [Source] = []
    /// Per grain: where each unit's key first occurs, and (rarer) where else.
    private var firstPlaces: [[UInt64: Place]]
    private var morePlaces: [[UInt64: [Place]]]
    private var wholes: [CacheKey: Int] = [:]
    /// The last text `replacingRuns` split and left unchanged: most texts are registered
    /// just after, as they were.
    private final class LastSplit {
        var text = ""
        var grains: [TextUnits] = []
    }
    private let lastSplit = LastSplit()
    /// A line as common as "}" would make every lookup slow; the earliest places suffice.
    static let placesPerUnit = 16

    init(loose: Bool = false) {
        self.loose = loose
        firstPlaces = Array(repeating: [:], count: loose ? 2 : 1)
        morePlaces = firstPlaces.map { _ in [:] }
    }

    private var grains: [TextUnits.Grain] { loose ? [.line, .paragraph] : [.line] }

    /// Adds a message's text parts, as compressed, once the message is done (a message
    /// never refers to itself).
    mutating func register(_ message: JSONValue, index: Int) {
        let texts = Self.texts(of: message)
        for (p, text) in texts.enumerated() {
            let source = Int32(truncatingIfNeeded: sources.count)
            let split =
                lastSplit.text.utf8.count == text.utf8.count && lastSplit.text == text
                ? lastSplit.grains : TextUnits.split(text, grains: grains, loose: loose)
            for (g, units) in split.enumerated() {
                for (i, unit) in units.units.enumerated() where unit.indexed {
                    let place = Place(source: source, unit: Int32(truncatingIfNeeded: i))
                    let key = unit.key
                    // Most lines are unique: one entry, no array.
                    guard firstPlaces[g][key] != nil else {
                        firstPlaces[g][key] = place
                        continue
                    }
                    if morePlaces[g][key, default: []].count < Self.placesPerUnit - 1 { morePlaces[g][key, default: []].append(place) }
                }
            }
            let whole = Self.key(text[...])
            if wholes[whole] == nil { wholes[whole] = sources.count }
            sources.append(Source(message: index, part: texts.count > 1 ? p : nil, text: text, grains: split))
        }
    }

    /// A reference to the earlier text part that was exactly this text, if one was and
    /// the text has at least `minTokens` tokens. The only dedup a JSON document gets.
    func replacingWhole(_ text: String, minTokens: Int, counter: TokenCountMemo) -> String? {
        // A token is at least one byte: shorter text cannot reach the threshold.
        guard text.utf8.count >= minTokens, let at = wholes[Self.key(text[...])],
            sources[at].text.utf8.elementsEqual(text.utf8), counter.count(text) >= minTokens
        else { return nil }
        return "[Same text as in \(Self.name(sources[at])) above.]"
    }

    /// The text with each run of consecutive lines that an earlier text part had,
    /// contiguous and of at least `minTokens` tokens, replaced by one line naming where
    /// that text stands (`loose`: then runs of paragraphs, however re-wrapped). A run
    /// never starts or ends inside a code fence, so fences stay whole. Not for JSON
    /// documents, whose lines are data.
    func replacingRuns(in text: String, minTokens: Int, counter: TokenCountMemo) -> String {
        guard !sources.isEmpty, text.utf8.count >= minTokens else { return text }
        if let whole = replacingWhole(text, minTokens: minTokens, counter: counter) { return whole }
        var split = TextUnits.split(text, grains: grains, loose: loose)
        var current = text
        for g in grains.indices {
            let next = replacingRuns(in: current, grain: g, units: split[g], minTokens: minTokens, counter: counter)
            // Later grains look at what earlier ones left.
            if next != current, g + 1 < grains.count { split = TextUnits.split(next, grains: grains, loose: loose) }
            current = next
        }
        if current.utf8.count == text.utf8.count, current == text {
            lastSplit.text = text
            lastSplit.grains = split
        }
        return current
    }

    private func replacingRuns(in text: String, grain g: Int, units: TextUnits, minTokens: Int, counter: TokenCountMemo) -> String {
        let n = units.units.count
        var out: [Substring] = []
        var copied = 0
        var i = 0
        while i < n {
            guard units.units[i].mayStart, let found = longestRun(at: i, in: units, grain: g) else {
                i += 1
                continue
            }
            var end = i + found.length
            while end > i, !units.units[end - 1].mayEnd { end -= 1 }
            let lines = end > i ? units.units[i].span.lowerBound..<units.units[end - 1].span.upperBound : 0..<0
            // Bytes first: a token is at least one, and most short runs stop there.
            let bytes = units.raw[lines].reduce(lines.count - 1) { $0 + $1.utf8.count }
            guard end > i, bytes >= minTokens, counter.count(units.raw[lines].joined(separator: "\n")) >= minTokens else {
                i += 1
                continue
            }
            let source = sources[Int(found.place.source)]
            let from = source.grains[g]
            let first = from.units[Int(found.place.unit)].span.lowerBound
            let last = from.units[Int(found.place.unit) + (end - i) - 1].span.upperBound - 1
            // All of an earlier text is named as such, wherever it stands in this one.
            let reference =
                first == 0 && last == from.raw.count - 1
                ? "[Same text as in \(Self.name(source)) above.]"
                : "[The text of \(Self.name(source)), \(first == last ? "line \(first + 1)" : "lines \(first + 1)–\(last + 1)"), repeated.]"
            out.append(contentsOf: units.raw[copied..<lines.lowerBound])
            out.append(Substring(reference))
            copied = lines.upperBound
            i = end
        }
        guard copied > 0 else { return text }
        out.append(contentsOf: units.raw[copied...])
        return out.joined(separator: "\n")
    }

    /// The longest run of units from `start` that some earlier text part has, contiguous;
    /// the earliest such place on a tie.
    private func longestRun(at start: Int, in units: TextUnits, grain g: Int) -> (place: Place, length: Int)? {
        let key = units.units[start].key
        guard let firstPlace = firstPlaces[g][key] else { return nil }
        var best: (place: Place, length: Int)?
        for place in CollectionOfOne(firstPlace) + (morePlaces[g][key] ?? []) {
            let other = sources[Int(place.source)].grains[g].units
            var length = 0
            var a = start, b = Int(place.unit)
            while a < units.units.count, b < other.count, units.units[a].key == other[b].key,
                units.units[a].text.utf8.elementsEqual(other[b].text.utf8)
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

/// The `safe` rewrites of one piece of message text. Each returns the text unchanged
/// when it has nothing to do; the compressor keeps a result only if it has fewer tokens.
enum TextTransforms {
    /// A fenced code block or the prose between fences, as written.
    struct Segment {
        var text: Substring
        /// The info string of a fenced block ("json", "python"), nil for prose.
        var fence: Substring?
    }

    /// Splits text at Markdown code fences (``` or ~~~ at the start of a line, indented
    /// at most three spaces). An unclosed fence runs to the end, as Markdown has it.
    static func segments(_ text: String) -> [Segment] {
        var out: [Segment] = []
        var lines = lines(text[...])[...]
        var prose: [Substring] = []
        func flushProse() {
            if !prose.isEmpty { out.append(Segment(text: Substring(prose.joined(separator: "\n")), fence: nil)) }
            prose = []
        }
        while let line = lines.first {
            lines = lines.dropFirst()
            guard let marker = fenceMarker(line) else {
                prose.append(line)
                continue
            }
            flushProse()
            var block: [Substring] = [line]
            while let next = lines.first {
                lines = lines.dropFirst()
                block.append(next)
                if let closing = fenceMarker(next), closing.marker.hasPrefix(marker.marker), closing.info.isEmpty { break }
            }
            out.append(Segment(text: Substring(block.joined(separator: "\n")), fence: marker.info))
        }
        flushProse()
        return out
    }

    /// The lines of a text, split at "\n" on its bytes (far cheaper than by Character).
    static func lines(_ text: Substring) -> [Substring] {
        text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { Substring($0) }
    }

    /// Joins segments back: they were split at newlines, which the join restores.
    static func join(_ segments: [Segment]) -> String {
        segments.map { String($0.text) }.joined(separator: "\n")
    }

    private static func fenceMarker(_ line: Substring) -> (marker: Substring, info: Substring)? {
        var rest = line[...]
        var indent = 0
        while rest.first == " " && indent < 4 {
            rest = rest.dropFirst()
            indent += 1
        }
        guard indent < 4, let c = rest.first, c == "`" || c == "~" else { return nil }
        let marker = rest.prefix { $0 == c }
        guard marker.count >= 3 else { return nil }
        let info = rest.dropFirst(marker.count).trimmingWhitespace()
        if c == "`" && info.contains("`") { return nil }
        return (marker, info)
    }

    // MARK: JSON

    /// The whole text, if it is one JSON document, or each fenced `json` block, minified.
    static func minifyJSON(_ text: String) -> String {
        if let whole = JSONMinifier.minify(text[...].utf8) { return String(decoding: whole, as: UTF8.self) }
        var segments = segments(text)
        var changed = false
        for i in segments.indices {
            guard let info = segments[i].fence, info.lowercased() == "json" else { continue }
            let lines = lines(segments[i].text)
            guard lines.count >= 3, fenceMarker(lines.last!) != nil else { continue }
            let inner = lines[1..<(lines.count - 1)].joined(separator: "\n")
            guard let minified = JSONMinifier.minify(inner[...].utf8) else { continue }
            segments[i].text = Substring(lines[0] + "\n" + String(decoding: minified, as: UTF8.self) + "\n" + lines.last!)
            changed = true
        }
        return changed ? join(segments) : text
    }

    // MARK: Whitespace

    /// Outside code fences and JSON documents: trailing spaces go, runs of blank lines
    /// become one, and runs of spaces inside a line become one space. Leading indentation
    /// is never touched, so indentation-significant text (YAML, Python pasted without
    /// fences) keeps its shape.
    static func normalizeWhitespace(_ text: String) -> String {
        // A JSON document is not prose: spaces inside its strings are data.
        if JSONMinifier.isDocument(Array(text.utf8)) { return text }
        var segments = segments(text)
        for i in segments.indices where segments[i].fence == nil {
            var out: [Substring] = []
            var blankRun = 0
            for line in lines(segments[i].text) {
                let tidy = tidyLine(line)
                if tidy.isEmpty || tidy == "\r" {
                    blankRun += 1
                    if blankRun > 1 { continue }
                } else {
                    blankRun = 0
                }
                out.append(tidy)
            }
            segments[i].text = Substring(out.joined(separator: "\n"))
        }
        return join(segments)
    }

    private static func tidyLine(_ line: Substring) -> Substring {
        let cr = line.last == "\r"
        var body = cr ? line.dropLast() : line
        while let last = body.last, last == " " || last == "\t" { body = body.dropLast() }
        let indent = body.prefix { $0 == " " || $0 == "\t" }
        let rest = body.dropFirst(indent.count)
        var collapsed = ""
        var previousSpace = false
        var changed = false
        // Spaces inside "quoted text" may be data (a JSON string, a search phrase): kept.
        var quoted = false, escaped = false
        for c in rest {
            if c == "\"" && !escaped { quoted.toggle() }
            escaped = c == "\\" && !escaped
            if c == " " && !quoted {
                if previousSpace {
                    changed = true
                    continue
                }
                previousSpace = true
            } else {
                previousSpace = false
            }
            collapsed.append(c)
        }
        let result = changed ? Substring(String(indent) + collapsed) : body
        return cr ? Substring(String(result) + "\r") : result
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}

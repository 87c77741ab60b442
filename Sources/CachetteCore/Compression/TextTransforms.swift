import Foundation

/// The rewrites of one piece of message text. Each returns the text unchanged when it
/// has nothing to do; the compressor keeps a result only if it has fewer tokens.
enum TextTransforms {
    /// A fenced code block or the prose between fences, as written.
    struct Segment {
        var text: Substring
        /// The info string of a fenced block ("json", "python"), nil for prose.
        var fence: Substring?
    }

    /// Splits text at Markdown code fences (``` or ~~~ at the start of a line, indented
    /// at most three spaces). An unclosed fence runs to the end, as Markdown has it.
    /// Segments are slices of `text`; the newline between two segments belongs to neither.
    static func segments(_ text: String) -> [Segment] {
        // Most texts have no fence at all.
        guard mayHaveFence(text) else { return [Segment(text: text[...], fence: nil)] }
        var out: [Segment] = []
        let utf8 = text.utf8
        var lineStart = utf8.startIndex
        var proseStart: String.Index?
        var open: (marker: Substring, info: Substring, start: String.Index)?
        while true {
            let lineEnd = utf8[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? utf8.endIndex
            let line = text[lineStart..<lineEnd]
            if let fence = open {
                if let closing = fenceMarker(line), closing.marker.hasPrefix(fence.marker), closing.info.isEmpty {
                    out.append(Segment(text: text[fence.start..<lineEnd], fence: fence.info))
                    open = nil
                }
            } else if let marker = fenceMarker(line) {
                if let start = proseStart {
                    out.append(Segment(text: text[start..<utf8.index(before: lineStart)], fence: nil))
                    proseStart = nil
                }
                open = (marker.marker, marker.info, lineStart)
            } else if proseStart == nil {
                proseStart = lineStart
            }
            guard lineEnd < utf8.endIndex else { break }
            lineStart = utf8.index(after: lineEnd)
        }
        if let fence = open {
            out.append(Segment(text: text[fence.start...], fence: fence.info))
        } else if let start = proseStart {
            out.append(Segment(text: text[start...], fence: nil))
        }
        return out
    }

    /// Whether a ``` or ~~~ occurs anywhere (a fence needs one).
    static func mayHaveFence(_ text: String) -> Bool {
        withBytes(text[...]) { bytes in
            guard let base = bytes.baseAddress, bytes.count >= 3 else { return false }
            // memchr for each fence character: prose seldom has either.
            for fence in [UInt8(ascii: "`"), UInt8(ascii: "~")] {
                var from = 0
                while from < bytes.count - 2, let hit = memchr(base + from, Int32(fence), bytes.count - 2 - from) {
                    let i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if bytes[i + 1] == fence, bytes[i + 2] == fence { return true }
                    from = i + 1
                }
            }
            return false
        }
    }

    /// The UTF-8 bytes of a substring, without a copy when its storage is contiguous.
    static func withBytes<R>(_ text: Substring, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = String(text)
        return copy.withUTF8(body)
    }

    /// The lines of a text, split at "\n" on its bytes (far cheaper than by Character).
    static func lines(_ text: Substring) -> [Substring] {
        let utf8 = text.utf8
        let starts = withBytes(text) { bytes in
            var starts = [0]
            for i in bytes.indices where bytes[i] == UInt8(ascii: "\n") { starts.append(i + 1) }
            return starts
        }
        var out: [Substring] = []
        out.reserveCapacity(starts.count)
        for (n, start) in starts.enumerated() {
            let from = utf8.index(utf8.startIndex, offsetBy: start)
            let to = n + 1 < starts.count ? utf8.index(utf8.startIndex, offsetBy: starts[n + 1] - 1) : utf8.endIndex
            out.append(Substring(utf8[from..<to]))
        }
        return out
    }

    /// Joins segments back: they were split at newlines, which the join restores.
    static func join(_ segments: [Segment]) -> String {
        segments.map { String($0.text) }.joined(separator: "\n")
    }

    static func fenceMarker(_ line: Substring) -> (marker: Substring, info: Substring)? {
        // Most lines are rejected on their first bytes.
        var bytes = line.utf8[...]
        var spaces = 0
        while bytes.first == UInt8(ascii: " "), spaces < 4 {
            bytes = bytes.dropFirst()
            spaces += 1
        }
        guard let first = bytes.first, first == UInt8(ascii: "`") || first == UInt8(ascii: "~") else { return nil }
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
        return rewritingFencedCode(text) { info, code in
            info.lowercased() == "json" ? JSONMinifier.minify(code[...].utf8) : nil
        }
    }

    // MARK: Code comments

    /// Each closed fenced block in a known language without its comments (`aggressive`).
    static func stripComments(_ text: String) -> String {
        rewritingFencedCode(text) { info, code in
            CodeComments.syntax(forFence: info).flatMap { CodeComments.strip(Array(code.utf8), $0) }
        }
    }

    /// Applies `rewrite` to the code inside each closed fence (opening and closing lines
    /// kept as written); a nil rewrite leaves the block alone.
    private static func rewritingFencedCode(_ text: String, _ rewrite: (_ info: Substring, _ code: String) -> [UInt8]?) -> String {
        guard mayHaveFence(text) else { return text }
        var segments = segments(text)
        var changed = false
        for i in segments.indices {
            guard let info = segments[i].fence else { continue }
            let lines = lines(segments[i].text)
            guard lines.count >= 3, fenceMarker(lines.last!) != nil,
                let rewritten = rewrite(info, lines[1..<(lines.count - 1)].joined(separator: "\n"))
            else { continue }
            segments[i].text = Substring(lines[0] + "\n" + String(decoding: rewritten, as: UTF8.self) + "\n" + lines.last!)
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
        if JSONMinifier.isDocument(text) { return text }
        var segments = segments(text)
        var changed = false
        for i in segments.indices where segments[i].fence == nil {
            if let tidy = withBytes(segments[i].text, normalizedProse) {
                segments[i].text = Substring(String(decoding: tidy, as: UTF8.self))
                changed = true
            }
        }
        return changed ? join(segments) : text
    }

    /// One prose segment tidied line by line, or nil when nothing changed. Works on
    /// bytes: every byte it looks at is ASCII, and no ASCII byte occurs inside a
    /// multi-byte character.
    private static func normalizedProse(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), cr = UInt8(ascii: "\r"), newline = UInt8(ascii: "\n")
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var changed = false
        var blankRun = 0
        var lineStart = 0
        var firstLine = true
        while lineStart <= bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != newline { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            let hasCR = lineEnd > lineStart && bytes[lineEnd - 1] == cr
            let bodyEnd = hasCR ? lineEnd - 1 : lineEnd
            var end = bodyEnd
            while end > lineStart, bytes[end - 1] == space || bytes[end - 1] == tab { end -= 1 }
            changed = changed || end < bodyEnd
            if end == lineStart {
                blankRun += 1
                if blankRun > 1 {
                    changed = true
                    continue
                }
            } else {
                blankRun = 0
            }
            if !firstLine { out.append(newline) }
            firstLine = false
            var start = lineStart
            while start < end, bytes[start] == space || bytes[start] == tab { start += 1 }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[lineStart..<start]))
            var previousSpace = false
            // Spaces inside "quoted text" may be data (a JSON string, a search phrase): kept.
            var quoted = false, escaped = false
            // Kept bytes are copied in runs, up to each dropped space.
            var run = start
            for i in start..<end {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") && !escaped { quoted.toggle() }
                escaped = b == UInt8(ascii: "\\") && !escaped
                if b == space && !quoted {
                    if previousSpace {
                        changed = true
                        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i]))
                        run = i + 1
                        continue
                    }
                    previousSpace = true
                } else {
                    previousSpace = false
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<end]))
            if hasCR { out.append(cr) }
        }
        return changed ? out : nil
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

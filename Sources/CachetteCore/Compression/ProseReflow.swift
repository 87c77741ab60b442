/// Joins the lines of prose that was hard-wrapped at a fixed width (an email, a man
/// page, an RFC pasted in) into one line per paragraph (the `aggressive` level). A
/// line break costs a token that a space folds into the next word.
///
/// A break is taken for a wrap only where a wrapping tool would have made it: the next
/// line's first word would not have fitted within the paragraph's widest line, the
/// line is at least two thirds of that width, and the next line is long too or ends
/// the paragraph or list item. Lists, headings, quotes, tables, indented code,
/// `key: value` lines, lines ending in a colon and Markdown hard breaks keep their
/// lines, and fenced code and JSON documents are never touched.
enum ProseReflow {
    /// Paragraphs whose widest line falls outside this range were not wrapped by a tool.
    static let widths = 40...160

    static func reflow(_ text: String) -> String {
        if JSONMinifier.isDocument(text) { return text }
        var segments = TextTransforms.segments(text)
        var changed = false
        for i in segments.indices where segments[i].fence == nil {
            var out: [Substring] = []
            var paragraph: [Line] = []
            var joined = false
            func flush() {
                let result = join(paragraph)
                joined = joined || result.count < paragraph.count
                out.append(contentsOf: result)
                paragraph = []
            }
            for raw in TextTransforms.lines(segments[i].text) {
                let line = Line(raw)
                if line.isBlank {
                    flush()
                    out.append(raw)
                } else {
                    paragraph.append(line)
                }
            }
            flush()
            if joined {
                segments[i].text = Substring(out.joined(separator: "\n"))
                changed = true
            }
        }
        return changed ? TextTransforms.join(segments) : text
    }

    /// One paragraph's lines, wrapped lines joined.
    private static func join(_ lines: [Line]) -> [Substring] {
        guard lines.count >= 2 else { return lines.map(\.text) }
        let widest = lines.lazy.filter { $0.kind != .fixed }.map(\.width).max() ?? 0
        guard widths.contains(widest) else { return lines.map(\.text) }
        func isLong(_ line: Line) -> Bool { line.width * 3 >= widest * 2 }
        var out: [Substring] = []
        var text = lines[0].text
        // A continuation lines up with the first line of its chain (a list item's text).
        var chainIndent = lines[0].continuationIndent
        for n in 1..<lines.count {
            let previous = lines[n - 1], next = lines[n]
            // A short line ends its chain: wrapped text has one only at the end of a
            // paragraph or list item, so a short line before more plain text was meant.
            let endsChain = n + 1 == lines.count || lines[n + 1].kind != .plain || lines[n + 1].indent != chainIndent
            if previous.kind != .fixed, !previous.hardBreak, !previous.introduces, next.kind == .plain, next.indent == chainIndent,
                isLong(previous), previous.width + 1 + next.firstWordWidth > widest, isLong(next) || endsChain
            {
                text = merged(text, next)
            } else {
                out.append(text)
                text = next.text
                chainIndent = next.continuationIndent
            }
        }
        out.append(text)
        return out
    }

    /// `a` and `b`'s words with one space between, or none where a word was split at a
    /// hyphen ("well-" + "known").
    private static func merged(_ a: Substring, _ b: Line) -> Substring {
        var head = a
        if head.last == "\r" { head = head.dropLast() }
        while head.last == " " { head = head.dropLast() }
        let tail = b.text.drop { $0 == " " }
        let hyphenated = head.last == "-" && head.dropLast().last?.isLetter == true && tail.first?.isLetter == true
        return head + (hyphenated ? "" : " ") + tail
    }

    struct Line {
        enum Kind { case plain, listItem, keyValue, fixed }

        let text: Substring
        let kind: Kind
        let indent: Int
        /// Where a continuation of this line starts: its text, or a list item's text after the marker.
        let continuationIndent: Int
        let width: Int
        let firstWordWidth: Int
        /// Two trailing spaces or a backslash: a Markdown line break the author meant.
        let hardBreak: Bool
        /// Ends in a colon: what follows (a list, a quote, an error) starts a line of its own.
        let introduces: Bool

        var isBlank: Bool { text.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" } }

        init(_ text: Substring) {
            self.text = text
            var body = text
            if body.last == "\r" { body = body.dropLast() }
            hardBreak = body.hasSuffix("  ") || body.hasSuffix("\\")
            while body.last == " " { body = body.dropLast() }
            introduces = body.last == ":"
            indent = body.prefix { $0 == " " }.count
            let content = body.dropFirst(indent)
            width = body.unicodeScalars.count
            firstWordWidth = content.prefix { $0 != " " }.unicodeScalars.count
            let marker = Self.listMarkerWidth(content)
            if indent >= 4 || content.first == "\t" || Self.isStructural(content) {
                kind = .fixed
                continuationIndent = indent
            } else if let marker {
                kind = .listItem
                continuationIndent = indent + marker
            } else {
                kind = Self.isKeyValue(content) ? .keyValue : .plain
                continuationIndent = indent
            }
        }

        /// Headings, quotes, tables, HTML and rules: lines that stand alone.
        private static func isStructural(_ content: Substring) -> Bool {
            guard let first = content.first else { return false }
            if "#>|<".contains(first) { return true }
            if content.utf8.count >= 3, content.allSatisfy({ "-=*_ ".contains($0) }) { return true }
            return content.lazy.filter { $0 == "|" }.count >= 2
        }

        /// "- ", "* ", "+ ", "• ", "12. " or "3) ": the marker's width with its space.
        private static func listMarkerWidth(_ content: Substring) -> Int? {
            let bytes = content.utf8
            guard let first = bytes.first else { return nil }
            if first == UInt8(ascii: "-") || first == UInt8(ascii: "*") || first == UInt8(ascii: "+") {
                return bytes.dropFirst().first == UInt8(ascii: " ") ? 2 : nil
            }
            if content.hasPrefix("• ") { return 2 }
            let digits = bytes.prefix { $0 >= 0x30 && $0 <= 0x39 }.count
            guard digits >= 1, digits <= 9 else { return nil }
            let rest = bytes.dropFirst(digits)
            guard let punctuation = rest.first, punctuation == UInt8(ascii: ".") || punctuation == UInt8(ascii: ")"),
                rest.dropFirst().first == UInt8(ascii: " ")
            else { return nil }
            return digits + 2
        }

        /// "Name: value" (a header, a YAML or log field): starts an entry of its own.
        private static func isKeyValue(_ content: Substring) -> Bool {
            let key = content.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }
            guard !key.isEmpty else { return false }
            let rest = content.dropFirst(key.count)
            return rest.first == ":" && (rest.count == 1 || rest.dropFirst().first == " ")
        }
    }
}

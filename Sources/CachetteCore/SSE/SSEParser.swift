/// One server-sent event, with the exact bytes it arrived as (so it can be replayed
/// with its original boundaries) and its parsed fields.
public struct SSEEvent: Sendable, Equatable {
    /// The event as sent, blank-line terminator included.
    package var raw: [UInt8]
    /// `event:` field, if any.
    public var name: String?
    /// The `data:` lines joined by "\n", as the SSE specification says.
    public var data: String
    /// A block of comment lines only (a keep-alive): relayed live, never an event to record.
    package var isComment = false
    /// A piece of an event longer than the parser's limit: relayed as it is, never parsed or recorded.
    package var isOversized = false

    /// OpenAI's end-of-stream marker.
    package var isDone: Bool { data == "[DONE]" }
}

/// An incremental SSE parser: feed it bytes as they arrive, get whole events back.
/// Accepts LF, CR and CRLF line endings; comment lines (":") belong to the event they
/// precede, and a block of comments alone comes back as an `isComment` event.
///
/// Work is linear in the bytes fed: the scan for an event's end resumes where the last
/// feed stopped. An event longer than `maxEventBytes` is not held whole: its bytes come
/// back as they arrive, as `isOversized` pieces, so memory stays bounded.
package struct SSEParser: Sendable {
    /// Only the event still arriving is kept (from `start`).
    private var pending: [UInt8] = []
    private var start = 0
    /// Where the scan for the current event's end resumes, and whether it is at a line start.
    private var scan = 0
    private var lineStart = true
    /// Inside an event that outgrew `maxEventBytes`.
    private var overflowing = false
    package let maxEventBytes: Int

    package init(maxEventBytes: Int = 64 << 20) {
        self.maxEventBytes = max(1, maxEventBytes)
    }

    /// Bytes received but not yet part of a complete event.
    var bufferedBytes: Int { pending.count - start }

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEEvent] {
        pending.append(contentsOf: bytes)
        var events: [SSEEvent] = []
        while let end = eventEnd() {
            let raw = Array(pending[start..<end])
            events.append(overflowing ? SSEEvent(raw: raw, name: nil, data: "", isOversized: true) : Self.parse(raw))
            overflowing = false
            start = end
            scan = end
            lineStart = true
        }
        if overflowing || pending.count - start > maxEventBytes {
            // Pass on what was scanned; a CR at the very end waits to see if an LF follows.
            if scan > start { events.append(SSEEvent(raw: Array(pending[start..<scan]), name: nil, data: "", isOversized: true)) }
            start = scan
            overflowing = true
        }
        if start > 0 {
            pending.removeFirst(start)
            scan -= start
            start = 0
        }
        return events
    }

    /// The index just past the blank line ending the current event, if it has arrived.
    private mutating func eventEnd() -> Int? {
        var i = scan
        defer { scan = i }
        while i < pending.count {
            let b = pending[i]
            if b == 0x0A || b == 0x0D {
                var next = i + 1
                let hasBytes = i > start || overflowing
                if b == 0x0D {
                    // A CR at the very end may be the first half of CRLF, so a data line
                    // waits for the next byte. A blank line ends the event either way; an
                    // LF that follows then leads the next event's raw bytes.
                    guard next < pending.count else { return lineStart && hasBytes ? next : nil }
                    if pending[next] == 0x0A { next += 1 }
                }
                if lineStart && hasBytes { return next }
                lineStart = true
                i = next
                continue
            }
            lineStart = false
            i += 1
        }
        return nil
    }

    static func parse(_ raw: [UInt8]) -> SSEEvent {
        var name: String?
        var data: [String] = []
        var sawField = false
        for line in lines(raw) where !line.isEmpty {
            if line.first == UInt8(ascii: ":") { continue }
            let colon = line.firstIndex(of: UInt8(ascii: ":"))
            let field = String(decoding: line[..<(colon ?? line.endIndex)], as: UTF8.self)
            var value = colon.map { line[line.index(after: $0)...] } ?? []
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
            let text = String(decoding: value, as: UTF8.self)
            switch field {
            case "data": data.append(text)
            case "event": name = text
            default: break
            }
            sawField = true
        }
        guard sawField else { return SSEEvent(raw: raw, name: nil, data: "", isComment: true) }
        return SSEEvent(raw: raw, name: name, data: data.joined(separator: "\n"))
    }

    private static func lines(_ raw: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var start = 0, i = 0
        while i < raw.count {
            if raw[i] == 0x0A || raw[i] == 0x0D {
                out.append(raw[start..<i])
                if raw[i] == 0x0D, i + 1 < raw.count, raw[i + 1] == 0x0A { i += 1 }
                start = i + 1
            }
            i += 1
        }
        if start < raw.count { out.append(raw[start...]) }
        return out
    }
}

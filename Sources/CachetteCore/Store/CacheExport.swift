import NIOCore

/// The portable form of cache entries (`cachette cache export` and `import`): JSON
/// Lines, a header line naming the format and its version, then one entry a line.
///
/// An entry line holds its key, route, model, creation and expiry times, status,
/// content type, usage, the answer as JSON (`answer`) and, for a stream, its
/// recorded events as strings (`events`, with `usage_event` for the usage chunk).
/// When the answer's own bytes differ from `answer` written back (spacing, escapes),
/// they travel too, as `body`, so a replay is byte for byte what was stored.
package enum CacheExport {
    public static let format = "cachette-cache"
    package static let version = 1

    /// Why a line cannot be imported, in a sentence.
    package struct LineError: Error, Equatable, CustomStringConvertible {
        package let description: String
        package init(_ description: String) { self.description = description }
    }

    package static func header(exportedAt: Double) -> [UInt8] {
        let header: JSONValue = .object([
            .init("format", .string(format)), .init("version", .int(version)), .init("exported_at", .double(exportedAt)),
        ])
        return header.serialized() + [UInt8(ascii: "\n")]
    }

    /// Checks the first line: this format, a version this build reads.
    package static func checkHeader(_ line: some Collection<UInt8>) throws(LineError) {
        guard let header = try? JSONValue.parse(line), header["format"]?.stringValue == format else {
            throw LineError("the first line is not a \(format) header")
        }
        guard header["version"]?.intValue == version else {
            throw LineError(
                "format version \(header["version"].map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "none") is not \(version)")
        }
    }

    /// One entry as a line, newline included; nil for a stored body that is not JSON.
    public static func line(key: CacheKey, entry: NewEntry) -> [UInt8]? {
        let response = entry.response
        let body = Array(response.body.readableBytesView)
        guard let answer = try? JSONValue.parse(body) else { return nil }
        var members: [JSONValue.Member] = [
            .init("key", .string(key.hex)), .init("route", .string(entry.route)), .init("model", .string(entry.model)),
            .init("created_at", .double(response.createdAt)), .init("expires_at", .double(response.expiresAt)),
            .init("status", .int(response.status)), .init("content_type", .string(response.contentType)),
            .init(
                "usage",
                .object([
                    .init("prompt_tokens", .int(response.usage.promptTokens)), .init("completion_tokens", .int(response.usage.completionTokens)),
                ])
            ),
            .init("answer", answer),
        ]
        if answer.serialized() != body { members.append(.init("body", .string(String(decoding: body, as: UTF8.self)))) }
        if let events = response.events {
            members.append(.init("events", .array(events.events.map { .string(String(buffer: $0)) })))
            if let usage = events.usageEvent { members.append(.init("usage_event", .int(usage))) }
        }
        return JSONValue.object(members).serialized() + [UInt8(ascii: "\n")]
    }

    /// The entry a line holds, checked as a live answer is before it is stored and as a
    /// shared row is before it is served (`EntryCheck`): an import file is outside input.
    public static func entry(from line: some Collection<UInt8>, check: EntryCheck, now: Double) throws(LineError) -> (CacheKey, NewEntry) {
        guard let value = try? JSONValue.parse(line), value.members != nil else { throw LineError("not a JSON object") }
        guard let hex = value["key"]?.stringValue, let key = CacheKey(hex: hex) else { throw LineError("key is not 32 hex digits") }
        guard let route = value["route"]?.stringValue, AnswerShape(path: route) != nil else {
            throw LineError("route is not one of \(AnswerShape.paths.joined(separator: ", "))")
        }
        guard let model = value["model"]?.stringValue else { throw LineError("model is missing") }
        guard let created = value["created_at"]?.doubleValue, let expires = value["expires_at"]?.doubleValue else {
            throw LineError("created_at and expires_at must be times")
        }
        guard let status = value["status"]?.countValue else { throw LineError("status is not a status code") }
        guard let contentType = value["content_type"]?.stringValue else { throw LineError("content_type is missing") }
        guard let usage = value["usage"], TokenUsage.isWellFormed(usage: usage) else { throw LineError("usage is not well-formed counts") }
        guard let answer = value["answer"] else { throw LineError("answer is missing") }
        var body = answer.serialized()
        if let raw = value["body"] {
            guard let text = raw.stringValue, let parsed = try? JSONValue.parse(text), parsed == answer else {
                throw LineError("body is not the answer's own bytes")
            }
            body = Array(text.utf8)
        }
        var events: RecordedStream?
        if let list = value["events"] {
            events = try recording(list, usageEvent: value["usage_event"])
        }
        let response = CachedResponse(
            status: status, contentType: contentType, body: ByteBuffer(bytes: body), createdAt: created, expiresAt: expires,
            usage: TokenUsage(promptTokens: TokenUsage.count(usage["prompt_tokens"]), completionTokens: TokenUsage.count(usage["completion_tokens"])),
            events: events
        )
        switch check.checked(NewEntry(route: route, model: model, response: response), now: now) {
        case .success(let entry): return (key, entry)
        case .failure(let problem): throw LineError(problem.description)
        }
    }

    /// A stream's events: each one whole (ending in a blank line) and read back as one event.
    private static func recording(_ list: JSONValue, usageEvent: JSONValue?) throws(LineError) -> RecordedStream {
        guard let items = list.arrayValue, !items.isEmpty else { throw LineError("events must be a non-empty list of events") }
        var recording = RecordedStream()
        var total = 0
        for (index, item) in items.enumerated() {
            guard let text = item.stringValue else { throw LineError("events[\(index)] is not a string") }
            var parser = SSEParser()
            let parsed = parser.feed(Array(text.utf8))
            guard parsed.count == 1, parsed[0].raw.count == text.utf8.count, !parsed[0].isComment else {
                throw LineError("events[\(index)] is not one whole server-sent event")
            }
            total += text.utf8.count
            guard total < Int(UInt32.max) else { throw LineError("the events are too large to keep") }
        }
        var usage: Int?
        if let usageEvent {
            guard let index = usageEvent.countValue, index < items.count else { throw LineError("usage_event is not the index of an event") }
            usage = index
        }
        for (index, item) in items.enumerated() {
            recording.append((item.stringValue ?? "").utf8, isUsage: index == usage)
        }
        return recording
    }
}

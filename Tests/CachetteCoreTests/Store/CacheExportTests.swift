import Foundation
import NIOCore
import Testing

@testable import CachetteCore

@Suite("The portable cache format")
struct CacheExportTests {
    static let now = 1_700_000_000.0
    static let answer =
        #"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#

    /// A stream as an upstream sends it, and the answer it assembles into, as the sidecar records both.
    static func streamed(now: Double = Self.now) -> NewEntry {
        let events = [
            #"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}"#,
            #"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            #"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#,
            "data: [DONE]",
        ]
        var recorder = StreamRecorder(limit: 1 << 20)
        _ = recorder.feed(ByteBuffer(string: events.map { $0 + "\n\n" }.joined()))
        guard case .complete(let recording?, let answer?, _) = recorder.end() else { fatalError("the fixture stream does not assemble") }
        var e = entry(String(decoding: answer.serialized(), as: UTF8.self), now: now)
        e.response.events = recording
        return e
    }

    static func roundTrip(_ entry: NewEntry, check: EntryCheck = EntryCheck()) throws -> (CacheKey, NewEntry, String) {
        let line = try #require(CacheExport.line(key: key(7), entry: entry))
        #expect(line.last == UInt8(ascii: "\n") && line.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") }, "one line")
        let (k, e) = try CacheExport.entry(from: line.dropLast(), check: check, now: now)
        return (k, e, String(decoding: line, as: UTF8.self))
    }

    static func refusal(_ line: [UInt8], check: EntryCheck = EntryCheck()) -> String? {
        do {
            _ = try CacheExport.entry(from: line, check: check, now: now)
            return nil
        } catch {
            return error.description
        }
    }

    @Test("an entry and its recorded stream come back exactly: key, times, usage, body and events")
    func roundTrip() throws {
        let original = Self.streamed()
        let (k, back, text) = try Self.roundTrip(original)
        #expect(k == key(7))
        #expect(back.route == original.route && back.model == original.model)
        #expect(back.response.createdAt == Self.now && back.response.expiresAt == Self.now + 3600)
        #expect(back.response.usage == original.response.usage)
        #expect(back.response.body == original.response.body)
        #expect(back.response.events == original.response.events)
        #expect(back.response.events?.usageEvent == 2)
        #expect(text.contains(#""answer":{"id":"c1""#), "the answer is JSON, not a string")
        #expect(text.contains(#""usage_event":2"#))
        #expect(!text.contains(#""body":"#), "a body that reads back the same needs no copy")
    }

    @Test("a body whose bytes differ from its JSON written back travels as it is")
    func spacedBody() throws {
        let spaced =
            "{\n  \"id\": \"c1\", \"object\": \"chat.completion\",\n  \"choices\": [{\"index\": 0, \"message\": {\"content\": \"\\u00e9\"}}]\n}"
        let (_, back, text) = try Self.roundTrip(entry(spaced, now: Self.now))
        #expect(String(buffer: back.response.body) == spaced)
        #expect(text.contains(#""body":"#))
    }

    @Test(
        "a bad line is refused, saying why",
        arguments: [
            ("[1]", "not a JSON object"),
            (#"{"key":"xyz"}"#, "key"),
            (#"{"key":"00000000000000000000000000000007","route":"/v1/files"}"#, "route"),
        ])
    func refused(line: String, reason: String) {
        let refusal = Self.refusal(Array(line.utf8))
        #expect(refusal?.contains(reason) == true, "\(refusal ?? "accepted")")
    }

    @Test(
        "each field is checked as a stored answer would be",
        arguments: [
            ("status", JSONValue.int(500), "status"),
            ("usage", .object([.init("prompt_tokens", .int(-1))]), "usage"),
            ("answer", .object([.init("choices", .array([]))]), "answer"),
            ("events", .array([.string("data: {}\n")]), "events[0]"),
            ("usage_event", .int(9), "usage_event"),
            ("body", .string(#"{"other":1}"#), "body"),
            ("model", .string(""), "model"),
            ("expires_at", .int(1), "created_at"),
            // Read back, a time is outside input: -1e300 once crashed every hit on the entry.
            ("created_at", .double(-1e300), "created_at"),
            ("created_at", .double(Self.now + 86_400 * 30), "created_at"),
            ("content_type", .string("text/html"), "content type"),
            ("route", .string("/v1/embeddings"), "data"),
            ("route", .string("/v1/files"), "route"),
            ("usage_event", .int(0), "not as this route's stream reader records them"),
            (
                "answer", try! JSONValue.parse(Array(#"{"object":"chat.completion","choices":[{"index":0,"message":{"content":"Bye"}}]}"#.utf8)),
                "do not assemble into the stored answer"
            ),
        ])
    func fieldChecks(field: String, value: JSONValue, reason: String) throws {
        var line = try JSONValue.parse(try #require(CacheExport.line(key: key(1), entry: Self.streamed())).dropLast())
        line.set(field, value)
        let refusal = Self.refusal(line.serialized())
        #expect(refusal?.contains(reason) == true, "\(field): \(refusal ?? "accepted")")
    }

    @Test("a recording cut before its last event, or with events past it, is refused")
    func cutRecording() throws {
        var line = try JSONValue.parse(try #require(CacheExport.line(key: key(1), entry: Self.streamed())).dropLast())
        let events = try #require(line["events"]?.arrayValue)
        line.set("events", .array(Array(events.dropLast())))
        #expect(Self.refusal(line.serialized())?.contains("not a whole stream") == true)
        line.set("events", .array(events + [.string("data: [DONE]\n\n")]))
        #expect(Self.refusal(line.serialized())?.contains("not one stream's whole events") == true)
    }

    @Test("an expiry past cache.max_ttl comes back held to it")
    func maxTTL() throws {
        var long = Self.streamed()
        long.response.expiresAt = Self.now + 1e300
        let (_, back, _) = try Self.roundTrip(long, check: EntryCheck(maxTTL: 86_400))
        #expect(back.response.expiresAt == Self.now + 86_400)
    }

    @Test("a line larger than upstream.max_response_bytes is refused")
    func maxBytes() {
        let line = CacheExport.line(key: key(1), entry: Self.streamed())!.dropLast()
        #expect(Self.refusal(Array(line), check: EntryCheck(maxBytes: 64))?.contains("max_response_bytes") == true)
    }

    @Test("the header names the format and version; another is refused")
    func header() throws {
        try CacheExport.checkHeader(CacheExport.header(exportedAt: 1).dropLast())
        #expect(throws: CacheExport.LineError.self) { try CacheExport.checkHeader(Array(#"{"format":"cachette-cache","version":2}"#.utf8)) }
        #expect(throws: CacheExport.LineError.self) { try CacheExport.checkHeader(Array(#"{"format":"other","version":1}"#.utf8)) }
    }

    @Test("the store lists its entries, filtered by creation time and model glob")
    func listing() async throws {
        let store = try CacheStore(options: .init(path: temporaryDatabasePath()), logger: .init(label: "test"))
        let now = Date().timeIntervalSince1970
        store.store(key(1), entry(Self.answer, now: now - 7200, ttl: 86400))
        var claude = entry(Self.answer, now: now)
        claude.model = "claude-sonnet-4-6"
        store.store(key(2), claude)
        store.store(key(3), Self.streamed(now: now))
        try await store.flush(now: now)
        var seen: [CacheKey] = []
        #expect(try store.forEachEntry { k, _ in seen.append(k) } == 3)
        #expect(try store.forEachEntry(createdSince: now - 3600) { _, _ in } == 2)
        #expect(try store.forEachEntry(model: "gpt-*") { _, _ in } == 2)
        var events: RecordedStream?
        try store.forEachEntry { k, e in if k == key(3) { events = e.response.events } }
        #expect(events == Self.streamed(now: now).response.events)
    }
}

import Foundation
import NIOCore
import Testing

@testable import CachetteCore

@Suite("The portable cache format")
struct CacheExportTests {
    static let routes: [String: AnswerShape] = ["/v1/chat/completions": .completion, "/v1/messages": .message]
    static let answer =
        #"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#

    static func streamed(now: Double = 1_000) -> NewEntry {
        var recording = RecordedStream()
        recording.append(Array("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n".utf8))
        recording.append(Array("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n".utf8), isUsage: true)
        recording.append(Array("data: [DONE]\n\n".utf8))
        var e = entry(answer, now: now)
        e.response.events = recording
        return e
    }

    static func roundTrip(_ entry: NewEntry) throws -> (CacheKey, NewEntry, String) {
        let line = try #require(CacheExport.line(key: key(7), entry: entry))
        #expect(line.last == UInt8(ascii: "\n") && line.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") }, "one line")
        let (k, e) = try CacheExport.entry(from: line.dropLast(), routes: routes)
        return (k, e, String(decoding: line, as: UTF8.self))
    }

    @Test("an entry and its recorded stream come back exactly: key, times, usage, body and events")
    func roundTrip() throws {
        let original = Self.streamed()
        let (k, back, text) = try Self.roundTrip(original)
        #expect(k == key(7))
        #expect(back.route == original.route && back.model == original.model)
        #expect(back.response.createdAt == 1_000 && back.response.expiresAt == 4_600)
        #expect(back.response.usage == original.response.usage)
        #expect(back.response.body == original.response.body)
        #expect(back.response.events == original.response.events)
        #expect(back.response.events?.usageEvent == 1)
        #expect(text.contains(#""answer":{"id":"c1""#), "the answer is JSON, not a string")
        #expect(!text.contains(#""body":"#), "a body that reads back the same needs no copy")
    }

    @Test("a body whose bytes differ from its JSON written back travels as it is")
    func spacedBody() throws {
        let spaced =
            "{\n  \"id\": \"c1\", \"object\": \"chat.completion\",\n  \"choices\": [{\"index\": 0, \"message\": {\"content\": \"\\u00e9\"}}]\n}"
        let (_, back, text) = try Self.roundTrip(entry(spaced))
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
        #expect { try CacheExport.entry(from: Array(line.utf8), routes: Self.routes) } throws: {
            ($0 as? CacheExport.LineError)?.description.contains(reason) == true
        }
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
        ])
    func fieldChecks(field: String, value: JSONValue, reason: String) throws {
        var line = try JSONValue.parse(try #require(CacheExport.line(key: key(1), entry: Self.streamed())).dropLast())
        line.set(field, value)
        #expect { try CacheExport.entry(from: line.serialized(), routes: Self.routes) } throws: {
            ($0 as? CacheExport.LineError)?.description.contains(reason) == true
        }
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

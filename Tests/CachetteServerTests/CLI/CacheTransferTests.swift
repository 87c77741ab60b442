import CachetteCore
import Foundation
import HTTPTypes
import Synchronization
import Testing

@testable import CachetteServer

/// Record online, export, import into another file, replay offline: the workflow that
/// lets a test suite run against recorded answers with no network and no spend.
@Suite("Export, import and offline replay")
struct CacheTransferTests {
    static func file(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cachette-transfer-\(UUID().uuidString)-\(name)").path
    }

    /// Records a whole answer and a stream; returns what the client got for each.
    static func record(into database: String) async throws -> (answer: [UInt8], stream: [UInt8]) {
        let upstream = FakeUpstream()
        upstream.reply(.init(stream: FakeUpstream.chatStream()))
        let recorded = Mutex<(answer: [UInt8], stream: [UInt8])>(([], []))
        try await Harness.run(upstream: upstream, database: database) { h in
            let answer = try await h.post()
            expectCache(answer, "MISS")
            let stream = try await h.stream(Harness.streamBody(prompt: "Tell a story"))
            #expect(stream.xCache == "MISS" && stream.endsWithDone)
            try await eventually { try await h.statsValue("cache", "entries") == 2 }
            recorded.withLock { $0 = (Array(answer.body.readableBytesView), stream.raw) }
        }
        return recorded.withLock { $0 }
    }

    @Test("export, import and offline replay give the same bytes, answers and streams, with no upstream call")
    func replay() async throws {
        let (source, target, exported) = (Self.file("a.sqlite"), Self.file("b.sqlite"), Self.file("cache.jsonl"))
        let recorded = try await Self.record(into: source)
        let export = try await CLI.run(["cache", "export", "--db", source, "-o", exported])
        #expect(export.status == 0 && export.stderr.contains("exported 2 entries"), "\(export.stderr)")
        let lines = try String(contentsOfFile: exported, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3 && lines[0].contains(#""format":"cachette-cache""#))

        let first = try await CLI.run(["cache", "import", exported, "--db", target])
        #expect(first.status == 0 && first.stdout.contains("imported 2 entries"), "\(first.stdout)\(first.stderr)")
        let again = try await CLI.run(["cache", "import", exported, "--db", target])
        #expect(again.status == 0, "importing twice is harmless")

        let upstream = FakeUpstream()
        try await Harness.run(upstream: upstream, database: target, configure: { $0.cache.mode = .offline }) { h in
            #expect(try await h.statsValue("cache", "entries") == 2, "the second import changed nothing")
            let answer = try await h.post()
            expectCache(answer, "HIT")
            #expect(Array(answer.body.readableBytesView) == recorded.answer)
            let stream = try await h.stream(Harness.streamBody(prompt: "Tell a story"))
            #expect(stream.xCache == "HIT" && stream.raw == recorded.stream)
            #expect(upstream.calls == 0)
        }
    }

    @Test("offline, a miss is a 503 cache_miss_offline naming the key, and nothing reaches an upstream")
    func offlineMiss() async throws {
        let upstream = FakeUpstream()
        try await Harness.run(upstream: upstream, configure: { $0.cache.mode = .offline }) { h in
            let miss = try await h.post()
            #expect(miss.status == .serviceUnavailable)
            let error = try JSONValue.parse(miss.body.readableBytesView)["error"]
            #expect(error?["code"]?.stringValue == "cache_miss_offline")
            let key = try #require(miss.cacheKey)
            #expect(error?["message"]?.stringValue?.contains(key) == true)
            let noCache = try await h.post(headers: [.cacheControl: "no-cache"])
            #expect(noCache.status == .serviceUnavailable, "no-cache cannot reach an upstream either")
            let passthrough = try await h.get("/v1/models")
            #expect(passthrough.status == .serviceUnavailable && passthrough.text.contains(#""code":"offline""#))
            #expect(upstream.calls == 0)
            #expect(try await h.statsValue("rejected") == 3)
        }
    }

    @Test("import reports each bad line by number, imports the rest, and exits 1")
    func badLines() async throws {
        let (source, target, exported) = (Self.file("a.sqlite"), Self.file("b.sqlite"), Self.file("cache.jsonl"))
        _ = try await Self.record(into: source)
        _ = try await CLI.run(["cache", "export", "--db", source, "-o", exported])
        var text = try String(contentsOfFile: exported, encoding: .utf8)
        text += "{\"key\":\"nothex\"}\n"
        try text.write(toFile: exported, atomically: true, encoding: .utf8)
        let result = try await CLI.run(["cache", "import", exported, "--db", target])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(exported):4: key is not 32 hex digits"), "\(result.stderr)")
        #expect(result.stdout.contains("imported 2 entries; refused 1 line\n"), "\(result.stdout)")
        let wrongFile = try await CLI.run(["cache", "import", source, "--db", target])
        #expect(wrongFile.status == 1 && wrongFile.stderr.contains(":1:"), "a file that is not an export is refused at its first line")
    }

    /// An export of one recorded answer, with `change` applied to its entry line.
    static func alteredExport(_ change: (inout JSONValue) -> Void) async throws -> String {
        let (source, exported) = (Self.file("a.sqlite"), Self.file("cache.jsonl"))
        _ = try await Self.record(into: source)
        _ = try await CLI.run(["cache", "export", "--db", source, "-o", exported])
        var lines = try String(contentsOfFile: exported, encoding: .utf8).split(separator: "\n").map(String.init)
        var entry = try JSONValue.parse(Array(lines[1].utf8))
        change(&entry)
        lines[1] = String(decoding: entry.serialized(), as: UTF8.self)
        try (lines.joined(separator: "\n") + "\n").write(toFile: exported, atomically: true, encoding: .utf8)
        return exported
    }

    @Test(
        "an import line no live answer could be is refused, whatever --ttl says: a time of -1e300, an HTML answer, a route its key is not stored under",
        arguments: [
            ("created_at", JSONValue.double(-1e300), "created_at"), ("content_type", .string("text/html"), "content type text/html"),
            ("route", .string("/v1/completions"), "is stored for /v1/chat/completions"),
        ])
    func implausibleLines(field: String, value: JSONValue, reason: String) async throws {
        let target = Self.file("b.sqlite")
        let exported = try await Self.alteredExport { $0.set(field, value) }
        // The file already holds the entries under their own routes.
        let clean = try await Self.alteredExport { _ in }
        if field == "route" { _ = try await CLI.run(["cache", "import", clean, "--db", target]) }
        let result = try await CLI.run(["cache", "import", exported, "--db", target, "--ttl", "30d"])
        #expect(result.status == 1)
        #expect(result.stderr.contains(":2: ") && result.stderr.contains(reason), "\(result.stderr)")
        #expect(result.stdout.contains("imported 1 entry;"), "\(result.stdout)")
    }

    @Test("a failed import (no header, an empty file) creates no database")
    func failedImportCreatesNothing() async throws {
        for content in ["", "\n \n", #"{"key":"00000000000000000000000000000007"}"# + "\n"] {
            let (file, target) = (Self.file("bad.jsonl"), Self.file("never.sqlite"))
            try content.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try await CLI.run(["cache", "import", file, "--db", target])
            #expect(result.status == 1, "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: target), "\(content.debugDescription) left a database behind")
        }
    }

    /// A database holding a recorded answer and stream, with `sql` then run on it by sqlite3: a damaged file.
    static func recorded(thenRunning sql: String) async throws -> String {
        let database = Self.file("a.sqlite")
        _ = try await Self.record(into: database)
        let result = try await Subprocess.run("/usr/bin/sqlite3", [database, sql])
        #expect(result.status == 0, "\(result.stderr)")
        return database
    }

    @Test("a stored entry whose created_at is -1e300 is served with Age 2147483648, every time, and the server keeps serving")
    func implausibleStoredTime() async throws {
        let database = try await Self.recorded(thenRunning: "UPDATE entries SET created_at = -1e300")
        let upstream = FakeUpstream()
        try await Harness.run(upstream: upstream, database: database) { h in
            for _ in 0..<2 {
                let hit = try await h.post()
                expectCache(hit, "HIT")
                #expect(hit.headers[.age] == "2147483648")
            }
            #expect(upstream.calls == 0)
        }
    }

    @Test("export filters by model and age; offline with the cache disabled is a config error")
    func filtersAndConfig() async throws {
        let (source, exported) = (Self.file("a.sqlite"), Self.file("cache.jsonl"))
        _ = try await Self.record(into: source)
        let none = try await CLI.run(["cache", "export", "--db", source, "--model", "claude-*", "-o", exported])
        #expect(none.status == 0 && none.stderr.contains("exported 0 entries"))
        let recent = try await CLI.run(["cache", "export", "--db", source, "--since", "1h"])
        #expect(recent.stdout.split(separator: "\n").count == 3)
        let badSince = try await CLI.run(["cache", "export", "--db", source, "--since", "lately"])
        #expect(badSince.status != 0)
        var config = CachetteConfig()
        config.cache.enabled = false
        config.cache.mode = .offline
        #expect(throws: ConfigError.self) { try ConfigLoader.validate(config) }
    }
}

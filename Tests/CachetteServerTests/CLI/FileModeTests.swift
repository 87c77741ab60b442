import CachetteCore
import Foundation
import Testing

/// The cache file holds answers and usage: it, its WAL, its folder and exports are the
/// user's alone, and an existing file's mode is never widened.
@Suite("Private file modes")
struct FileModeTests {
    static func mode(_ path: String) throws -> Int {
        try ((FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1) & 0o777
    }

    static func folder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cachette-modes-\(UUID().uuidString)").path
    }

    @Test("the database, its WAL and shared-memory files are 0600 and the folders made for them 0700")
    func database() async throws {
        let path = Self.folder() + "/nested/cache.sqlite"
        try await Harness.run(database: path) { h in
            expectCache(try await h.post(), "MISS")
            try await eventually { try await h.statsValue("cache", "entries") == 1 }
            #expect(try Self.mode(path) == 0o600)
            #expect(try Self.mode(path + "-wal") == 0o600)
            #expect(try Self.mode(path + "-shm") == 0o600)
            #expect(try Self.mode((path as NSString).deletingLastPathComponent) == 0o700)
            #expect(try Self.mode(((path as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent) == 0o700)
        }
    }

    @Test("an export is created 0600; an existing export keeps its mode when written again")
    func export() async throws {
        let (database, exported) = (CacheTransferTests.file("a.sqlite"), CacheTransferTests.file("cache.jsonl"))
        _ = try await CacheTransferTests.record(into: database)
        #expect(try await CLI.run(["cache", "export", "--db", database, "-o", exported]).status == 0)
        #expect(try Self.mode(exported) == 0o600)
        #expect(chmod(exported, 0o640) == 0)
        let again = try await CLI.run(["cache", "export", "--db", database, "-o", exported])
        #expect(again.status == 0)
        #expect(try Self.mode(exported) == 0o640, "not reset by the second export")
        #expect(try String(contentsOfFile: exported, encoding: .utf8).split(separator: "\n").count == 3, "written from the start")
    }

    @Test("a --db that cannot be created is one line naming the path and the reason, without library text")
    func unwritable() async throws {
        let file = CacheTransferTests.file("plain")
        try "not a folder".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await CLI.run(["cache", "clear", "--db", file + "/cache.sqlite"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot create \(file)") && result.stderr.contains("Not a directory"), "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}

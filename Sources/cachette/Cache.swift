import ArgumentParser
import CachetteCore
import CachetteServer
import Foundation
import Logging

struct Cache: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect or maintain the cache database.",
        discussion: "Safe while the sidecar runs: SQLite's WAL lets both use the file, and the sidecar notices the change.",
        subcommands: [Info.self, Prune.self, Clear.self, Export.self, Import.self]
    )

    struct Target: ParsableArguments {
        @OptionGroup var file: ConfigFileOption
        @Option(help: ArgumentHelp("Cache database file (default: the config's cache.path; env CACHETTE_DB).", valueName: "path"))
        var db: String?

        func config() throws -> CachetteConfig {
            try file.load(.init(database: db))
        }

        func open() throws -> CacheStore {
            try open(config())
        }

        func open(_ config: CachetteConfig) throws -> CacheStore {
            var logger = Logger(label: "cachette")
            logger.logLevel = .warning
            do {
                return try CacheStore(
                    options: CacheStoreOptions(
                        path: config.cache.path, maxBytes: config.cache.maxBytes, memoryBytes: 0,
                        zstdLevel: Int32(config.cache.zstdLevel),
                        // prune removes an entry only when its TTL and stale-if-error window are both over.
                        staleSeconds: config.cache.staleIfError.seconds, maxEntryBytes: config.upstream.maxResponseBytes
                    ),
                    logger: logger
                )
            } catch {
                FileHandle.standardError.write(Data("cachette: cannot open \(config.cache.path): \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what the cache holds.")
        @OptionGroup var target: Target

        func run() async throws {
            // Only looks: a mistyped --db is not created, and a damaged file is reported, never moved.
            let config = try target.file.load(.init(database: target.db))
            let info: StoreInfo
            do {
                info = try CacheStore.info(readingOnly: config.cache.path, maxBytes: config.cache.maxBytes)
            } catch {
                FileHandle.standardError.write(Data("cachette: \(error)\n".utf8))
                throw ExitCode(1)
            }
            func date(_ t: Double?) -> String { t.map { Date(timeIntervalSince1970: $0).formatted(.iso8601) } ?? "-" }
            var rows: [(String, String)] = [
                ("database", info.path),
                ("entries", StatsTable.grouped(info.entries)),
                ("stored bytes", "\(ByteCount.format(info.storedBytes)) of \(ByteCount.format(info.maxBytes)) budget"),
                ("uncompressed bytes", ByteCount.format(info.rawBytes)),
                ("file size", ByteCount.format(info.fileBytes)),
                ("expired, not yet pruned", StatsTable.grouped(info.expiredEntries)),
                ("evictions (all time)", StatsTable.grouped(info.evictions)),
                ("oldest entry", date(info.oldest)),
                ("newest entry", date(info.newest)),
            ]
            rows += info.routes.map { ("  \($0.route)", StatsTable.grouped($0.entries)) }
            rows = rows.map { (TerminalText.escaped($0.0), TerminalText.escaped($0.1)) }
            let width = rows.map(\.0.count).max() ?? 0
            for (name, value) in rows { print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value) }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove expired entries, enforce the byte budget and shrink the file."
        )
        @OptionGroup var target: Target

        func run() async throws {
            let result = try await target.open().prune()
            print(
                "removed \(result.expired) expired and \(result.evicted) over-budget entries; file \(ByteCount.format(result.fileBytesBefore)) -> \(ByteCount.format(result.fileBytesAfter))"
            )
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every cached entry (statistics are kept).")
        @OptionGroup var target: Target

        func run() async throws {
            let removed = try await target.open().clear()
            print("removed \(Plural.count(removed, "entry", "entries"))")
        }
    }
}

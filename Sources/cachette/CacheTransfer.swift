import ArgumentParser
import CachetteCore
import CachetteServer
import Foundation

extension Cache {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write cached entries as JSON Lines, for `cache import` elsewhere.",
            discussion: """
                A header line, then one entry a line: its key, route, model, times, usage, the answer \
                as JSON and, for a stream, its recorded events. Keys include the credential's scope: \
                replay with the same key, or with cache.scope: shared on both sides.
                """
        )
        @OptionGroup var target: Target
        @Option(help: ArgumentHelp("Only entries created this recently (90s, 15m, 24h, 7d).", valueName: "duration"))
        var since: String?
        @Option(help: ArgumentHelp("Only entries whose model matches this glob (gpt-4o*, claude-*).", valueName: "glob"))
        var model: String?
        @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Write here instead of standard output.", valueName: "file"))
        var output: String?

        func validate() throws {
            if let since, ConfigValues.duration(since) == nil { throw ValidationError("--since must be a duration such as 7d or 24h") }
        }

        func run() async throws {
            let store = try target.open()
            let now = Date().timeIntervalSince1970
            let cutoff = since.flatMap(ConfigValues.duration).map { now - $0.seconds }
            let sink: FileHandle
            if let output, output != "-" {
                guard let file = PrivateFile.truncating(output) else {
                    InputFile.fail("cannot write \(output)")
                }
                sink = file
            } else {
                sink = FileHandle.standardOutput
            }
            var pending = CacheExport.header(exportedAt: now)
            var skipped = 0
            let count = try store.forEachEntry(createdSince: cutoff, model: model) { key, entry in
                guard let line = CacheExport.line(key: key, entry: entry) else {
                    skipped += 1
                    return
                }
                pending += line
                if pending.count >= 1 << 20 {
                    sink.write(Data(pending))
                    pending.removeAll(keepingCapacity: true)
                }
            }
            sink.write(Data(pending))
            try sink.synchronize()
            let note = skipped > 0 ? " (\(skipped) with a body that is not JSON left out)" : ""
            FileHandle.standardError.write(Data("exported \(Plural.count(count - skipped, "entry", "entries"))\(note)\n".utf8))
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store the entries of a `cache export` file; importing twice changes nothing.",
            discussion: """
                Every line is checked as an answer is before it is stored. Bad lines are reported with \
                their line numbers and skipped; the rest are imported, and the exit status is 1.
                """
        )
        @OptionGroup var target: Target
        @Option(
            help: ArgumentHelp(
                "Keep each entry this long from now (30d; at most cache.max_ttl) instead of until its exported expiry.", valueName: "duration"))
        var ttl: String?
        @Argument(help: ArgumentHelp("The export file, or - for standard input.", valueName: "file"))
        var file: String

        func validate() throws {
            if let ttl, ConfigValues.duration(ttl) == nil { throw ValidationError("--ttl must be a duration such as 365d") }
        }

        func run() async throws {
            let data = try InputFile.read(file)
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated().filter { _, line in
                !line.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }
            }
            // The header is checked before the database is opened: a failed import leaves no file behind.
            guard let (headerIndex, header) = lines.first else { InputFile.fail("\(file) is empty: no \(CacheExport.format) header") }
            do {
                try CacheExport.checkHeader(header)
            } catch {
                InputFile.fail("\(file):\(headerIndex + 1): \(error)")
            }
            let config = try target.config()
            let store = try target.open(config)
            let now = Date().timeIntervalSince1970
            let maxTTL = config.cache.maxTTL.seconds
            let lifetime = ttl.flatMap(ConfigValues.duration).map { min($0.seconds, maxTTL) }
            let check = config.entryCheck
            var imported = 0, refused = 0, expired = 0
            for (index, line) in lines.dropFirst() {
                do {
                    var (key, entry) = try CacheExport.entry(from: line, check: check, now: now)
                    // The key hashes the route: one the file holds under another route is not this entry's.
                    if let held = try store.storedRoute(key), held != entry.route {
                        throw CacheExport.LineError("key \(key) is stored for \(held), not \(entry.route)")
                    }
                    if let lifetime {
                        entry.response.expiresAt = now + lifetime
                    } else if !entry.response.isFresh(at: now) {
                        expired += 1
                        continue
                    }
                    try await store.importEntry(key, entry)
                    imported += 1
                } catch let error as CacheExport.LineError {
                    refused += 1
                    FileHandle.standardError.write(Data("\(file):\(index + 1): \(error)\n".utf8))
                }
            }
            try await store.flush()
            let dropped = store.totals.droppedWrites
            var summary = "imported \(Plural.count(imported, "entry", "entries"))"
            if expired > 0 { summary += "; \(expired) already expired, skipped (--ttl keeps them)" }
            if refused > 0 { summary += "; refused \(Plural.count(refused, "line", "lines"))" }
            if dropped > 0 { summary += "; \(dropped) could not be written" }
            print(summary)
            if refused > 0 || dropped > 0 { throw ExitCode(1) }
        }
    }
}

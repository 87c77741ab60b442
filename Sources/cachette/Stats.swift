import ArgumentParser
import AsyncHTTPClient
import CachetteCore
import Foundation

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a running sidecar's /stats as a table.")

    @Option(help: ArgumentHelp("The sidecar's base URL.", valueName: "url"))
    var url = "http://127.0.0.1:8766"

    @Flag(help: "Print the raw JSON instead of a table.")
    var json = false

    func run() async throws {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        let stats: JSONValue
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/stats"), timeout: .seconds(10))
            guard response.status == .ok else { throw CleanExit.message("cachette: \(base)/stats answered \(response.status)") }
            let body = try await response.body.collect(upTo: 16 << 20)
            stats = try JSONValue.parse(body.readableBytesView)
        } catch let exit as CleanExit {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("cachette: cannot read \(base)/stats: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if json {
            print(stats.jsonString)
            return
        }
        print(StatsTable.render(stats))
    }
}

/// Renders the /stats document for people.
enum StatsTable {
    static func render(_ s: JSONValue) -> String {
        func int(_ v: JSONValue?) -> String { v?.intValue.map(grouped) ?? "-" }
        let usage = s["token_usage"], cache = s["cache"]
        let ratio = s["hit_ratio"]?.doubleValue.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
        let rows: [(String, String)] = [
            ("requests", int(s["requests"])),
            ("cache hits", int(s["hits"])),
            ("cache misses", int(s["misses"])),
            ("bypassed", int(s["bypassed"])),
            ("hit ratio", ratio),
            ("upstream errors", int(s["upstream_errors"])),
            ("compressed requests", int(s["compressed_requests"])),
            ("input tokens (paid)", int(usage?["input"])),
            ("output tokens (paid)", int(usage?["output"])),
            ("tokens served from cache", int(usage?["cached"])),
            ("cache entries", int(cache?["entries"])),
            ("cache bytes", cache?["bytes"]?.intValue.map(ByteCount.format) ?? "-"),
            ("evictions", int(cache?["evictions"])),
            ("since", s["since"]?.stringValue ?? "-"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }
}

enum ByteCount {
    static func format(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}

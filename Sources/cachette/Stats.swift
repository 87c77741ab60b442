import ArgumentParser
import AsyncHTTPClient
import CachetteCore
import Foundation
import NIOCore

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a running sidecar's /stats as a table.")

    @Option(help: ArgumentHelp("The sidecar's base URL.", valueName: "url"))
    var url = "http://127.0.0.1:8766"

    @Option(help: ArgumentHelp("Savings over the last 1h, 24h or 7d, or all (since the ledger began).", valueName: "window"))
    var window = "all"

    @Flag(help: "Every replica's figures, from the shared tier's ledger (needs shared.url and shared.ledger).")
    var cluster = false

    @Flag(help: "Print the raw JSON instead of a table.")
    var json = false

    @Flag(help: "Redraw the table in place every SECONDS (default 2) until interrupted.")
    var watch = false

    @Argument(help: ArgumentHelp("With --watch: seconds between redraws.", valueName: "seconds"))
    var seconds: Double?

    func validate() throws {
        guard LedgerWindow(rawValue: window) != nil else {
            throw ValidationError("--window must be one of \(LedgerWindow.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let seconds {
            guard watch else { throw ValidationError("SECONDS goes with --watch: cachette stats --watch \(seconds)") }
            guard seconds.isFinite, seconds >= 0.2, seconds <= 86400 else { throw ValidationError("--watch takes 0.2 to 86400 seconds") }
        }
    }

    func run() async throws {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        let address = base + "/stats?window=" + window + (cluster ? "&scope=cluster" : "")
        guard watch else {
            guard let stats = await fetch(address) else { throw ExitCode(1) }
            print(render(stats))
            return
        }
        // On a terminal, each table replaces the last; into a file or pipe, they follow each other.
        let terminal = isatty(STDOUT_FILENO) != 0
        let interval = seconds ?? 2
        while true {
            // A sidecar that is restarting is reported on stderr, and asked again next time.
            if let stats = await fetch(address) {
                let time = Date().formatted(date: .omitted, time: .standard)
                let heading = "\(base) · every \(interval.formatted()) s · \(time) · Ctrl-C to stop\n\n"
                // Unbuffered: a pipe or file sees each table as it is drawn.
                let text = (terminal ? "\u{1B}[H\u{1B}[2J" : "") + heading + render(stats) + (terminal ? "\n" : "\n\n")
                FileHandle.standardOutput.write(Data(text.utf8))
            }
            try await Task.sleep(for: .seconds(interval))
        }
    }

    private func render(_ stats: JSONValue) -> String {
        json ? stats.jsonString : cluster ? StatsTable.renderCluster(stats) : StatsTable.render(stats)
    }

    /// The parsed /stats document, or nil after saying on stderr why not.
    private func fetch(_ url: String) async -> JSONValue? {
        // No connection retries: a sidecar that is not running should be reported at once.
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(3)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        var problem = ""
        var stats: JSONValue?
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 16 << 20)
            if response.status == .ok {
                stats = try JSONValue.parse(body.readableBytesView)
            } else {
                let message = (try? JSONValue.parse(body.readableBytesView))?["error"]?["message"]?.stringValue
                problem = "answered \(response.status)" + (message.map { ": " + $0 } ?? "")
            }
        } catch {
            // Nothing listening is the usual cause: say so, not the client library's words.
            problem =
                (error as? IOError)?.errnoCode == ECONNREFUSED
                ? "no sidecar answers there; start one with `cachette serve`, or give its address with --url"
                : "it did not answer; check --url (\(type(of: error)))"
        }
        try? await client.shutdown()
        if stats == nil { FileHandle.standardError.write(Data("cachette: cannot read \(url): \(problem)\n".utf8)) }
        return stats
    }
}

/// Renders the /stats document for people.
enum StatsTable {
    static func render(_ s: JSONValue) -> String {
        func int(_ v: JSONValue?) -> String { v?.intValue.map(grouped) ?? "-" }
        let usage = s["token_usage"], cache = s["cache"], streams = s["streams"]
        let ratio = percent(s["hit_ratio"])
        let rows: [(String, String)] = [
            ("requests", int(s["requests"])),
            ("cache hits", int(s["hits"])),
            ("stale answers", int(s["stale"])),
            ("cache misses", int(s["misses"])),
            ("bypassed", int(s["bypassed"])),
            ("rejected", int(s["rejected"])),
            ("answered locally (/v1/compress)", int(s["answered_locally"])),
            ("hit ratio", ratio),
            ("upstream errors", int(s["upstream_errors"])),
            ("streamed requests", int(streams?["requests"])),
            ("stream failures", int(streams?["failures"])),
            ("streams finished after disconnect", int(streams?["finished_after_disconnect"])),
            ("slow stream clients dropped", int(streams?["slow_clients_dropped"])),
            ("compressed requests", int(s["compressed_requests"])),
            ("input tokens (paid)", int(usage?["input"])),
            ("output tokens (paid)", int(usage?["output"])),
            ("tokens served from cache", int(usage?["cached"])),
            ("cache entries", int(cache?["entries"])),
            ("cache bytes", cache?["bytes"]?.intValue.map(ByteCount.format) ?? "-"),
            ("evictions", int(cache?["evictions"])),
            ("since", s["since"]?.stringValue.map(TerminalText.escaped) ?? "-"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        let summary = rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
        return summary + "\n\n" + savings(s)
    }

    /// `/stats?scope=cluster`: the replicas' sums, then the savings.
    static func renderCluster(_ s: JSONValue) -> String {
        func int(_ v: JSONValue?) -> String { v?.intValue.map(grouped) ?? "-" }
        let ratio = percent(s["hit_ratio"])
        let usage = s["token_usage"]
        let rows: [(String, String)] = [
            ("replicas", int(s["replicas"])),
            ("requests", int(s["requests"])),
            ("cache hits", int(s["hits"])),
            ("cache misses", int(s["misses"])),
            ("hit ratio", ratio),
            ("input tokens (paid)", int(usage?["input"])),
            ("output tokens (paid)", int(usage?["output"])),
            ("tokens served from cache", int(usage?["cached"])),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        let summary = rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
        return "cluster\n" + summary + "\n\n" + savings(s)
    }

    /// Dollars and per-model savings over the window the sidecar reported.
    static func savings(_ s: JSONValue) -> String {
        let window = TerminalText.escaped(s["window"]?.stringValue ?? "all")
        let cost = s["cost"]
        var out = "savings (\(window == "all" ? "all time" : "last " + window))\n"
        out += "spent \(dollars(cost?["spent_usd"]))   saved \(dollars(cost?["saved_usd"]))\n"
        out += "provider prompt cache: reads saved \(dollars(cost?["provider_cache_read_savings_usd"])), writes cost "
        out += "\(dollars(cost?["provider_cache_write_premium_usd"])) more, net \(dollars(cost?["saved_provider_cache_usd"]))\n"
        if let steering = s["prompt_cache"] {
            out +=
                "breakpoints added \(grouped(steering["breakpoints_added"]?.intValue ?? 0)), skipped \(grouped(steering["skipped_would_not_pay"]?.intValue ?? 0))"
            out += " (would not pay) and \(grouped(steering["skipped_too_short"]?.intValue ?? 0)) (too short), "
            out += "prefixes remembered \(grouped(steering["prefixes_remembered"]?.intValue ?? 0))\n"
        }
        let models = s["models"]?.members ?? []
        guard !models.isEmpty else { return out + "no requests in this window" }
        let header = [
            "model", "requests", "hits", "hit ratio", "input tokens", "output tokens", "cache read", "cache written", "saved tokens", "spent",
            "saved", "provider net",
        ]
        var table = [header]
        for model in models {
            let m = model.value
            table.append([
                TerminalText.escaped(model.key), grouped(m["requests"]?.intValue ?? 0), grouped(m["hits"]?.intValue ?? 0), percent(m["hit_ratio"]),
                grouped(m["input_tokens"]?.intValue ?? 0), grouped(m["output_tokens"]?.intValue ?? 0),
                grouped(m["cached_input_tokens"]?.intValue ?? 0), grouped(m["cache_write_input_tokens"]?.intValue ?? 0),
                grouped(m["saved_tokens"]?.intValue ?? 0), dollars(m["spent_usd"]), dollars(m["saved_usd"]),
                dollars(m["saved_provider_cache_usd"]),
            ])
        }
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        return out
            + table.map { row in
                row.enumerated().map { column, cell in
                    // The model name reads left to right; figures line up on the right.
                    column == 0
                        ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[column] - cell.count) + cell
                }.joined(separator: "  ")
            }.joined(separator: "\n")
    }

    /// `hit_ratio` as every table shows it: hits / (hits + misses).
    static func percent(_ value: JSONValue?) -> String {
        value?.doubleValue.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
    }

    static func dollars(_ value: JSONValue?) -> String {
        value?.doubleValue.map(Dollars.format) ?? "-"
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

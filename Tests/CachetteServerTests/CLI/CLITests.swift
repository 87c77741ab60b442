import CachetteCore
import CachetteServer
import Dispatch
import Foundation
import Glibc
import Testing

/// Runs the real `cachette` executable, which `swift test` builds beside the test bundle.
enum CLI {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cachette")
    }

    typealias Result = Subprocess.Result

    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        var env = environment
        env["CACHETTE_CONFIG"] = env["CACHETTE_CONFIG"] ?? ""
        // No config file of the machine's user: built-in defaults unless a test names one.
        env["XDG_CONFIG_HOME"] = env["XDG_CONFIG_HOME"] ?? "/nonexistent/cachette-tests"
        return try await Subprocess.run(binary.path, arguments, environment: env)
    }
}

@Suite("The cachette command")
struct CLITests {
    @Test("the binary exists where the tests expect it")
    func binaryBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: CLI.binary.path), "\(CLI.binary.path)")
    }

    @Test("a bad config stops start-up with one line naming the key")
    func badConfig() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml").path
        try "cache:\n  ttl: whenever\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await CLI.run(["serve", "--config", path, "--port", "0"])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(result.stderr.contains("config error: cache.ttl:"))
    }

    @Test("a port in use is one line naming the address and the setting, and nothing else is printed")
    func portInUse() async throws {
        try await Harness.run { h in
            let port = String(h.baseURL.split(separator: ":").last ?? "")
            let database = FileManager.default.temporaryDirectory.appendingPathComponent("port-\(UUID().uuidString).sqlite").path
            let result = try await CLI.run(["serve", "--port", port, "--db", database, "--upstream", "http://127.0.0.1:9/v1"])
            #expect(result.status == 1)
            #expect(
                result.stderr
                    == "cachette: cannot listen on 127.0.0.1:\(port): the port is in use by another process; stop it, or choose another port with --port or server.port\n",
                "\(result.stderr)")
        }
    }

    @Test("a file that is not YAML is named by its path")
    func notYAML() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("broken-\(UUID().uuidString).yaml").path
        try "cache:\n  ttl: [\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await CLI.run(["serve", "--config", path, "--port", "0"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("config error: \(path): not valid YAML"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("a bad environment value stops start-up too")
    func badEnvironment() async throws {
        let result = try await CLI.run(["serve"], environment: ["CACHETTE_PORT": "http"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("CACHETTE_PORT"))
    }

    @Test(
        "--help on every command",
        arguments: [
            [], ["serve"], ["stats"], ["cache"], ["cache", "info"], ["cache", "prune"], ["cache", "clear"], ["cache", "export"], ["cache", "import"],
        ]
    )
    func help(command: [String]) async throws {
        let result = try await CLI.run(command + ["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE"))
    }

    @Test("cache export and import --help document their flags")
    func transferFlags() async throws {
        let export = try await CLI.run(["cache", "export", "--help"]).stdout
        for flag in ["--db", "--since", "--model", "--output"] { #expect(export.contains(flag), "export \(flag)") }
        let `import` = try await CLI.run(["cache", "import", "--help"]).stdout
        for flag in ["--db", "--ttl"] { #expect(`import`.contains(flag), "import \(flag)") }
    }

    @Test("serve --help documents every flag")
    func serveFlags() async throws {
        let help = try await CLI.run(["serve", "--help"]).stdout
        for flag in ["--host", "--port", "--config", "--upstream", "--db", "--offline"] { #expect(help.contains(flag), "\(flag)") }
        for setting in [
            "prompt_cache.openai", "prompt_cache.anthropic", "prompt_cache.max_prefixes", "prompt_cache.minimum_tokens",
            "prompt_cache.minimum_margin_percent", "x-cachette-prompt-cache",
        ] {
            #expect(help.contains(setting), "\(setting)")
        }
    }

    @Test("cache info on a mistyped --db is a one-line error, and creates nothing")
    func cacheInfoReadsOnly() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-missing-\(UUID().uuidString)")
        let missing = folder.appendingPathComponent("typo.sqlite").path
        let info = try await CLI.run(["cache", "info", "--db", missing])
        #expect(info.status == 1)
        #expect(info.stderr.contains("does not exist") && info.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: folder.path), "neither the file nor its folder is created")
    }

    @Test("cache info reports a damaged file, and leaves it where and as it was")
    func cacheInfoDamaged() async throws {
        let damaged = Harness.temporaryDatabase()
        FileManager.default.createFile(atPath: damaged, contents: Data(repeating: 0x42, count: 8192))
        let report = try await CLI.run(["cache", "info", "--db", damaged])
        #expect(report.status == 1)
        #expect(report.stderr.contains("cannot be read"))
        #expect(FileManager.default.contents(atPath: damaged) == Data(repeating: 0x42, count: 8192), "left where and as it was")
        let dir = URL(fileURLWithPath: damaged).deletingLastPathComponent().path
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.contains("corrupt") })
    }

    @Test("cache info, prune and clear work on a real database")
    func cacheCommands() async throws {
        let database = Harness.temporaryDatabase()
        try await Harness.run(database: database) { h in
            _ = try await h.post()
            _ = try await h.post("/v1/embeddings", #"{"model":"e","input":"x"}"#)
        }
        let info = try await CLI.run(["cache", "info", "--db", database])
        #expect(info.status == 0)
        #expect(info.stdout.contains("entries"))
        #expect(info.stdout.contains("/v1/chat/completions"))
        #expect(info.stdout.range(of: #"entries\s+2"#, options: .regularExpression) != nil, "\(info.stdout)")
        let prune = try await CLI.run(["cache", "prune", "--db", database])
        #expect(prune.status == 0)
        #expect(prune.stdout.contains("removed 0 expired"))
        let clear = try await CLI.run(["cache", "clear", "--db", database])
        #expect(clear.status == 0)
        #expect(clear.stdout.contains("removed 2 entries"))
        let after = try await CLI.run(["cache", "info", "--db", database])
        #expect(after.stdout.range(of: #"entries\s+0"#, options: .regularExpression) != nil)
    }

    @Test("stats prints a running sidecar's figures as a table")
    func statsTable() async throws {
        try await Harness.run { h in
            _ = try await h.post()
            _ = try await h.post()
            let url = h.baseURL
            let result = try await CLI.run(["stats", "--url", url])
            #expect(result.status == 0)
            #expect(result.stdout.range(of: #"cache hits\s+1"#, options: .regularExpression) != nil, "\(result.stdout)")
            #expect(result.stdout.range(of: #"hit ratio\s+50.0%"#, options: .regularExpression) != nil)
            #expect(result.stdout.range(of: #"tokens served from cache\s+18"#, options: .regularExpression) != nil)
            // Savings per model: gpt-4o, 2 requests, 1 hit (50%), 11 in, 7 out, 18 saved.
            #expect(result.stdout.contains("savings (all time)"))
            #expect(
                result.stdout.range(
                    of: #"gpt-4o\s+2\s+1\s+50.0%\s+11\s+7\s+0\s+0\s+18\s+\$0\.00009750\s+\$0\.00009750\s+\$0\.00"#, options: .regularExpression)
                    != nil,
                "\(result.stdout)")
            let hour = try await CLI.run(["stats", "--url", url, "--window", "1h"])
            #expect(hour.stdout.contains("savings (last 1h)"))
            let badWindow = try await CLI.run(["stats", "--url", url, "--window", "2h"])
            #expect(badWindow.status != 0)
            // Something that is not a sidecar's /stats is an error, not an empty table.
            let wrong = try await CLI.run(["stats", "--url", url + "/elsewhere"])
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("answered 404"))
        }
    }

    @Test("--version prints the version and the commit make wrote for the build (unknown without one)")
    func version() async throws {
        let result = try await CLI.run(["--version"])
        #expect(result.status == 0)
        let written = try? String(
            contentsOf: ConfigTests.repoRoot.appendingPathComponent("Sources/CBuildInfo/commit.h"), encoding: .utf8)
        let commit = written?.firstMatch(of: /CACHETTE_COMMIT "([0-9a-f]{7,40}(-dirty)?|unknown)"/).map { String($0.1) } ?? "unknown"
        #expect(result.stdout == "\(CachetteVersion.current) (commit \(commit))\n", "\(result.stdout)")
        #expect(CachetteVersion.commit == commit)
    }

    @Test("the config in XDG_CONFIG_HOME is found from any directory, and --config wins over it")
    func discoveredConfig() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-xdg-\(UUID().uuidString)")
        let folder = home.appendingPathComponent("cachette")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try "server:\n  port: notaport\n".write(to: folder.appendingPathComponent("cachette.yaml"), atomically: true, encoding: .utf8)
        // The discovered file is read: its bad port stops start-up, naming the key.
        let missing = home.appendingPathComponent("none.sqlite").path
        let discovered = try await CLI.run(["cache", "info", "--db", missing], environment: ["XDG_CONFIG_HOME": home.path])
        #expect(discovered.status == 2 && discovered.stderr.contains("server.port"), "\(discovered.stderr)")
        let explicit = home.appendingPathComponent("other.yaml")
        try "server:\n  port: alsonotaport\n".write(to: explicit, atomically: true, encoding: .utf8)
        let named = try await CLI.run(["cache", "info", "--db", missing, "--config", explicit.path], environment: ["XDG_CONFIG_HOME": home.path])
        #expect(named.status == 2 && named.stderr.contains("alsonotaport"), "\(named.stderr)")
    }

    @Test("stats shows the provider prompt cache: reads' savings, writes' premium, net, and what steering did")
    func statsProviderCache() async throws {
        try await Harness.run(configure: AnthropicMessagesTests.routed) { h in
            // The fake's answer: 1,000 read and 100 written at Sonnet's prices.
            _ = try await h.post("/v1/messages", AnthropicMessagesTests.body, headers: AnthropicMessagesTests.headers)
            try await eventually { try await h.json("/stats")["models"]?["claude-sonnet-4-6"] != nil }
            let result = try await CLI.run(["stats", "--url", h.baseURL])
            #expect(
                result.stdout.contains("provider prompt cache: reads saved $0.002700, writes cost $0.00007500 more, net $0.002625"),
                "\(result.stdout)")
            #expect(result.stdout.range(of: #"breakpoints added \d+, skipped \d+ \(would not pay\)"#, options: .regularExpression) != nil)
            #expect(
                result.stdout.range(
                    of: #"claude-sonnet-4-6\s+1\s+0\s+0.0%\s+1,110\s+7\s+1,000\s+100\s+0\s+\S+\s+\$0\.00\s+\$0\.002625"#, options: .regularExpression)
                    != nil, "\(result.stdout)")
        }
    }

    @Test("stats --watch redraws the table until interrupted, showing new traffic")
    func statsWatch() async throws {
        try await Harness.run { h in
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("watch-\(UUID().uuidString).log").path
            let pid = try Subprocess.spawn(
                CLI.binary.path, ["stats", "--url", h.baseURL, "--watch", "0.3"], environment: ["CACHETTE_CONFIG": ""], log: log)
            var stopped = false
            defer { if !stopped { Glibc.kill(pid, SIGKILL) } }
            func output() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
            try await eventually { output().components(separatedBy: "savings (all time)").count > 2 }
            #expect(output().range(of: #"requests\s+0\n"#, options: .regularExpression) != nil)
            _ = try await h.post()
            try await eventually { output().range(of: #"cache misses\s+1\n"#, options: .regularExpression) != nil }
            #expect(!output().contains("\u{1B}["), "no screen control codes into a file")
            await Subprocess.kill(pid, SIGINT)
            stopped = true
            let tables = output().components(separatedBy: "savings (all time)").count - 1
            try await Task.sleep(for: .milliseconds(700))
            #expect(output().components(separatedBy: "savings (all time)").count - 1 == tables, "stopped by the interrupt")
            let alone = try await CLI.run(["stats", "--url", h.baseURL, "3"])
            #expect(alone.status != 0 && alone.stderr.contains("--watch"))
        }
    }

    @Test("stats against nothing fails clearly")
    func statsUnreachable() async throws {
        let result = try await CLI.run(["stats", "--url", "http://127.0.0.1:1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot read http://127.0.0.1:1/stats"))
        #expect(result.stderr.contains("no sidecar answers there") && result.stderr.contains("--url"), "\(result.stderr)")
        #expect(!result.stderr.contains("errno"), "no library text")
    }

    @Test("tokens counts a file exactly, by model, and says when a count is an estimate")
    func tokens() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-tokens-\(UUID().uuidString).txt").path
        try "hello world".write(toFile: path, atomically: true, encoding: .utf8)
        let plain = try await CLI.run(["tokens", path])
        #expect(plain.status == 0)
        #expect(plain.stdout == "2 tokens (o200k_base)\n")
        let json = try await CLI.run(["tokens", "--model", "gpt-3.5-turbo", "--json", path])
        #expect(try JSONValue.parse(json.stdout) == .object(["tokens": .int(2), "encoding": .string("cl100k_base"), "estimated": .bool(false)]))
        let unknown = try await CLI.run(["tokens", "--model", "llama-3", path])
        #expect(unknown.stdout.contains("estimated"))
        let missing = try await CLI.run(["tokens", path + ".absent"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot read"))
    }

    @Test("compress prints the compressed request and a before/after table per message")
    func compress() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-compress-\(UUID().uuidString).json").path
        try CompressionForwardingTests.body.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await CLI.run(["compress", path])
        #expect(result.status == 0, "\(result.stderr)")
        let request = try JSONValue.parse(result.stdout)
        let tool = try #require(request["messages"]?.arrayValue?[1]["content"]?.stringValue)
        #expect(!tool.contains("\n"))
        #expect(result.stderr.range(of: #"2 tool\s+\d+\s+\d+\s+\d+\.\d%"#, options: .regularExpression) != nil, "\(result.stderr)")
        #expect(result.stderr.contains("total"))
        let off = try await CLI.run(["compress", "--level", "off", path])
        #expect(try JSONValue.parse(off.stdout) == JSONValue.parse(CompressionForwardingTests.body))
        let bad = try await CLI.run(["compress", "--level", "max", path])
        #expect(bad.status != 0)
        // aggressive with a low tool-output limit cuts the tool result; below 256 is refused.
        let cut = try await CLI.run(["compress", "--level", "aggressive", "--max-tool-output-tokens", "256", path])
        #expect(cut.status == 0, "\(cut.stderr)")
        let cutTool = try JSONValue.parse(cut.stdout)["messages"]?.arrayValue?[1]["content"]?.stringValue ?? ""
        #expect(cutTool.contains("[… Cachette cut "))
        let tooLow = try await CLI.run(["compress", "--level", "aggressive", "--max-tool-output-tokens", "100", path])
        #expect(tooLow.status != 0 && tooLow.stderr.contains("at least 256"))
    }

    @Test("compress reads a Responses request: its input items, numbered after the instructions")
    func compressResponses() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-compress-\(UUID().uuidString).json").path
        let body =
            #"{"model":"gpt-4o","instructions":"Be brief.","input":[{"role":"user","content":"Hi"},{"type":"function_call_output","call_id":"c","output":"{\n  \"temperature\": 21,\n  \"unit\": \"celsius\"\n}"}]}"#
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await CLI.run(["compress", path])
        #expect(result.status == 0, "\(result.stderr)")
        let request = try JSONValue.parse(result.stdout)
        #expect(request["input"]?.arrayValue?[1]["output"]?.stringValue == #"{"temperature":21,"unit":"celsius"}"#)
        #expect(request["instructions"]?.stringValue == "Be brief.")
        #expect(result.stderr.range(of: #"2 function_call_output\s+\d+\s+\d+\s+\d+\.\d%"#, options: .regularExpression) != nil, "\(result.stderr)")
        #expect(result.stderr.contains("instructions"))
    }
}

import AsyncHTTPClient
import CachetteCore
import Foundation
import Glibc
import Testing

/// A binary copied without its resource bundles (the tokenizer's vocabularies, the
/// dashboard, the price table) starts, serves, and says what is missing where it is
/// needed, instead of dying with "could not load resource bundle".
@Suite("A binary without its resources")
struct MissingResourcesTests {
    @Test("serve starts; /v1/tokens/count answers tokenizer_unavailable, the dashboard dashboard_unavailable, /health 200")
    func serveWithoutResources() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bare-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let binary = directory + "/cachette"
        try FileManager.default.copyItem(atPath: CLI.binary.path, toPath: binary)
        let log = directory + "/log"
        let pid = try Subprocess.spawn(
            binary, ["serve", "--port", "0", "--db", directory + "/cache.sqlite", "--upstream", "http://127.0.0.1:9/v1"],
            environment: ["CACHETTE_CONFIG": ""], log: log)
        defer { Glibc.kill(pid, SIGKILL) }
        var base = ""
        try await eventually(within: .seconds(30)) {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            guard let line = text.split(separator: "\n").first(where: { $0.contains("listening on 127.0.0.1:") }),
                let port = line.split(separator: ":").last.flatMap({ Int($0) })
            else { return false }
            base = "http://127.0.0.1:\(port)"
            return true
        }
        func get(_ path: String, post body: String? = nil) async throws -> (Int, String) {
            var request = HTTPClientRequest(url: base + path)
            if let body {
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(.init(string: body))
            }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
        }
        let (health, _) = try await get("/health")
        #expect(health == 200)
        let (status, text) = try await get("/v1/tokens/count", post: #"{"model":"gpt-4o","text":"hello"}"#)
        #expect(status == 500 && text.contains("tokenizer_unavailable"), "\(text)")
        let (page, pageText) = try await get("/")
        #expect(page == 500 && pageText.contains("dashboard_unavailable"), "\(pageText)")
        let (stats, _) = try await get("/stats")
        #expect(stats == 200)
        let logText = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!logText.contains("could not load resource bundle"), "\(logText)")
    }
}

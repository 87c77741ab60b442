import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// What the CLI prints from elsewhere (a sidecar's /stats, the shared ledger's model
/// names, a cache file's routes) reaches a terminal: no control character of it may.
@Suite("The CLI's tables escape control characters")
struct TerminalEscapeTests {
    /// A /stats document whose model name and `since` carry escape sequences.
    static let hostileStats = #"""
        {"requests":1,"hits":0,"since":"today\u001b]0;owned\u0007","window":"all","cost":{"spent_usd":0,"saved_usd":0},
         "models":{"gpt\u001b[2J\u001b[31mred\r\u009b1m\u202e":{"requests":1,"hits":0}},
         "scope":"cluster","replicas":1}
        """#

    static func expectClean(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let controls = text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) || $0.value == 0x202E }
        #expect(controls.isEmpty, "printed \(controls.map { String($0.value, radix: 16) })", sourceLocation: sourceLocation)
    }

    @Test("cachette stats and stats --cluster show a hostile model name and since as escapes")
    func stats() async throws {
        let router = Router()
        router.get("/stats") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: Self.hostileStats)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let url = "http://127.0.0.1:\(client.port!)"
            for arguments in [["stats", "--url", url], ["stats", "--cluster", "--url", url]] {
                let result = try await CLI.run(arguments)
                #expect(result.status == 0, "\(result.stderr)")
                Self.expectClean(result.stdout)
                #expect(result.stdout.contains(#"gpt\x1b[2J\x1b[31mred\r\x9b1m\u{202e}"#), "\(result.stdout)")
            }
        }
    }

    @Test("cachette cache info shows a route with control characters from the cache file as escapes")
    func cacheInfo() async throws {
        let database = try await CacheTransferTests.recorded(thenRunning: "UPDATE entries SET route = 'r' || char(27) || '[2J'")
        let info = try await CLI.run(["cache", "info", "--db", database])
        #expect(info.status == 0, "\(info.stderr)")
        Self.expectClean(info.stdout)
        #expect(info.stdout.contains(#"r\x1b[2J"#), "\(info.stdout)")
    }
}

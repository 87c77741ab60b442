import CachetteCore
import CachetteServer
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// A page in the user's browser can reach 127.0.0.1; it must get nothing from the sidecar.
@Suite("Web pages cannot use the sidecar")
struct BrowserGuardTests {
    static let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#

    /// A request with any Host and headers, over a raw socket, and what came back.
    static func raw(_ h: Harness, host: String, method: String = "POST", headers: [String] = [], body: String = body) async throws -> String {
        let lines = ["\(method) /v1/chat/completions HTTP/1.1", "Host: \(host)", "Content-Length: \(body.utf8.count)", "Connection: close"] + headers
        let socket = try RawSocket(port: h.port, raw: lines.joined(separator: "\r\n") + "\r\n\r\n" + body)
        defer { socket.close() }
        return await socket.readToEnd()
    }

    @Test("a cross-site POST, even as text/plain with no preflight, is refused before the upstream")
    func crossSitePost() async throws {
        try await Harness.run { h in
            for contentType in ["text/plain", "application/json"] {
                let answer = try await Self.raw(
                    h, host: "127.0.0.1:\(h.port)", headers: ["Origin: https://evil.example", "Content-Type: \(contentType)"])
                #expect(answer.hasPrefix("HTTP/1.1 403"))
                #expect(answer.contains(#""code":"origin_not_allowed""#) && answer.contains("server.allowed_origins"))
                #expect(!answer.lowercased().contains("access-control-allow-origin"))
            }
            let null = try await Self.raw(h, host: "localhost:\(h.port)", headers: ["Origin: null"])
            #expect(null.hasPrefix("HTTP/1.1 403"))
            #expect(h.upstream.calls == 0)
            let stats = try await h.json("/stats")
            #expect(stats["refused"]?["origins"]?.intValue == 3)
        }
    }

    @Test("DNS rebinding: a Host that is not localhost, an IP literal or listed is a 421 naming server.allowed_hosts")
    func rebinding() async throws {
        try await Harness.run(configure: { $0.server.allowedHosts = ["cachette"] }) { h in
            let rebound = try await Self.raw(h, host: "evil.example:8766", headers: ["Content-Type: application/json"])
            #expect(rebound.hasPrefix("HTTP/1.1 421"))
            #expect(rebound.contains(#""code":"host_not_allowed""#) && rebound.contains("server.allowed_hosts"))
            #expect(h.upstream.calls == 0)
            // Names and literals that are allowed, with any port.
            for host in ["localhost:\(h.port)", "127.0.0.1", "10.1.2.3:8766", "[::1]:\(h.port)", "cachette:8766", "CACHETTE"] {
                let answer = try await Self.raw(h, host: host, headers: ["Content-Type: application/json", "Authorization: Bearer sk-a"])
                #expect(answer.hasPrefix("HTTP/1.1 200"), "\(host)")
            }
            for host in ["localhost.evil.example", "127.0.0.1.nip.io", "1.2.3", "cachette.evil"] {
                #expect(try await Self.raw(h, host: host).hasPrefix("HTTP/1.1 421"), "\(host)")
            }
            #expect(try await h.json("/stats")["refused"]?["hosts"]?.intValue == 5)
        }
    }

    @Test("preflights are answered here, never forwarded, and grant CORS only to allowed origins")
    func preflight() async throws {
        try await Harness.run(configure: { $0.server.allowedOrigins = ["https://app.example"] }) { h in
            h.upstream.reply(.init(headers: ["Access-Control-Allow-Origin": "*"]))
            let preflight = ["Access-Control-Request-Method: POST", "Access-Control-Request-Headers: authorization, content-type"]
            let evil = try await Self.raw(
                h, host: "127.0.0.1:\(h.port)", method: "OPTIONS", headers: ["Origin: https://evil.example"] + preflight, body: "")
            #expect(evil.hasPrefix("HTTP/1.1 403") && !evil.lowercased().contains("access-control-allow"))
            let allowed = try await Self.raw(
                h, host: "127.0.0.1:\(h.port)", method: "OPTIONS", headers: ["Origin: https://app.example"] + preflight, body: "")
            #expect(allowed.hasPrefix("HTTP/1.1 204"))
            #expect(allowed.lowercased().contains("access-control-allow-origin: https://app.example"))
            #expect(allowed.lowercased().contains("access-control-allow-headers: authorization, content-type"))
            #expect(h.upstream.calls == 0, "no OPTIONS reaches the upstream")

            // The allowed origin's real request gets its grant; the upstream's own CORS header is not passed on.
            let answer = try await Self.raw(
                h, host: "127.0.0.1:\(h.port)", headers: ["Origin: https://app.example", "Content-Type: application/json"])
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            #expect(answer.lowercased().contains("access-control-allow-origin: https://app.example"))
            #expect(!answer.contains("Access-Control-Allow-Origin: *") && !answer.contains("access-control-allow-origin: *"))
            // The sidecar's own origin (a page it serves) is allowed through the Host it was reached by.
            let own = try await Self.raw(
                h, host: "127.0.0.1:\(h.port)", headers: ["Origin: http://127.0.0.1:\(h.port)", "Content-Type: application/json"])
            #expect(own.hasPrefix("HTTP/1.1 200"))
            let otherName = try await Self.raw(
                h, host: "127.0.0.1:\(h.port)", headers: ["Origin: http://localhost:\(h.port)", "Content-Type: application/json"])
            #expect(otherName.hasPrefix("HTTP/1.1 200"), "localhost and 127.0.0.1 are both the sidecar's own")
            for foreign in ["http://localhost:1", "https://127.0.0.1:\(h.port)", "http://127.0.0.1.evil.example:\(h.port)"] {
                let refused = try await Self.raw(h, host: "127.0.0.1:\(h.port)", headers: ["Origin: \(foreign)", "Content-Type: application/json"])
                #expect(refused.hasPrefix("HTTP/1.1 403"), "\(foreign)")
            }
            // SDKs and curl send no Origin and are unaffected.
            #expect(try await h.post().status == .ok)
        }
    }
}

import CachetteCore
import Foundation
import HTTPTypes
import Hummingbird
import Testing

@Suite("Dashboard page")
struct DashboardTests {
    @Test("/ and /dashboard serve the page; it and its assets stay under 60 KB and name no other origin")
    func served() async throws {
        try await Harness.run { h in
            var total = 0
            for (path, type) in [
                ("/", "text/html"), ("/dashboard", "text/html"), ("/dashboard/app.js", "text/javascript"), ("/dashboard/app.css", "text/css"),
            ] {
                let response = try await h.get(path)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType]?.hasPrefix(type) == true, "\(path)")
                let policy = response.headers[.contentSecurityPolicy] ?? ""
                #expect(policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"), "\(path): \(policy)")
                #expect(policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe-inline"), "\(path)")
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                // Only the SVG namespace may look like an address; nothing is fetched from one.
                let text = response.text.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
                #expect(!text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"), "\(path)")
                if path != "/dashboard" { total += response.body.readableBytes }
            }
            #expect(total < 60 * 1024, "the page, its script and style sheet: \(total) bytes")
            let page = try await h.get("/").text
            #expect(page.contains(#"src="/dashboard/app.js""#) && page.contains(#"href="/dashboard/app.css""#))
            #expect(!page.contains("<script>") && !page.contains("style="), "no inline code for the policy to allow")
        }
    }

    @Test("another site's page, or a rebound DNS name, gets nothing")
    func refusedToOtherSites() async throws {
        try await Harness.run { h in
            let crossSite = try await h.get("/", headers: [.origin: "https://evil.example"])
            #expect(crossSite.status == .forbidden)
            #expect(!crossSite.text.contains("Cachette</title>"))
            let socket = try RawSocket(port: h.port, raw: "GET /dashboard HTTP/1.1\r\nHost: evil.example:8766\r\nConnection: close\r\n\r\n")
            defer { socket.close() }
            let rebound = await socket.readToEnd()
            #expect(rebound.hasPrefix("HTTP/1.1 421") && !rebound.contains("Cachette</title>"))
            let data = try await h.get("/stats/recent", headers: [.origin: "https://evil.example"])
            #expect(data.status == .forbidden)
        }
    }
}

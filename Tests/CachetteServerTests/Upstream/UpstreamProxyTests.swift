import CachetteCore
@testable import CachetteServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Upstreams reached through a forward proxy (`ConnectProxy`, which counts its tunnels
/// and checks credentials), chosen by the environment or by the configuration.
@Suite("Upstreams behind an egress proxy")
struct UpstreamProxyTests {
    static func https(_ port: Int) -> String { "https://127.0.0.1:\(port)/v1" }

    @Test("HTTPS_PROXY takes an https upstream's requests through a CONNECT tunnel with its credentials; hits never reach the proxy")
    func throughTheProxy() async throws {
        let pki = try await TestPKI.shared.value
        let proxy = try ConnectProxy(user: "cachette", password: "p@ss word")
        defer { proxy.stop() }
        let upstream = FakeUpstream(tls: try pki.serverTLS())
        let env = try EnvironmentProxy(["HTTPS_PROXY": "http://cachette:p%40ss%20word@127.0.0.1:\(proxy.port)"])
        try await Harness.run(
            upstream: upstream, upstreamAt: Self.https,
            configure: { config in
                config.upstream.tls.caFile = pki.caFile
                config.upstream.environmentProxy = env
            }
        ) { h in
            try await expectCache(h.post(), "MISS")
            #expect(proxy.tunnels.count == 1 && proxy.tunnels.first?.hasPrefix("127.0.0.1:") == true, "\(proxy.tunnels)")
            try await expectCache(h.post(), "HIT")
            try await expectCache(h.post(), "HIT")
            #expect(proxy.tunnels.count == 1)
            #expect(upstream.calls == 1)
        }
    }

    @Test("NO_PROXY hosts, and proxy: none, go straight to the upstream")
    func bypass() async throws {
        let proxy = try ConnectProxy()
        defer { proxy.stop() }
        let env = try EnvironmentProxy(["HTTP_PROXY": "127.0.0.1:\(proxy.port)", "NO_PROXY": "example.com, 127.0.0.1"])
        try await Harness.run(configure: { $0.upstream.environmentProxy = env }) { h in
            try await expectCache(h.post(), "MISS")
        }
        let everything = try EnvironmentProxy(["HTTP_PROXY": "127.0.0.1:\(proxy.port)"])
        try await Harness.run(configure: { config in
            config.upstream.environmentProxy = everything
            config.upstream.proxy = .direct
        }) { h in
            try await expectCache(h.post(), "MISS")
        }
        #expect(proxy.tunnels.isEmpty, "\(proxy.tunnels)")
        // A plain-http upstream through the proxy: AsyncHTTPClient tunnels it with CONNECT too.
        try await Harness.run(configure: { $0.upstream.environmentProxy = everything }) { h in
            try await expectCache(h.post(), "MISS")
        }
        #expect(proxy.tunnels.count == 1)
    }

    @Test("a proxy that refuses the credentials is a 502 upstream_proxy_auth; the password is in no error, log line, /health or /stats")
    func wrongPassword() async throws {
        let proxy = try ConnectProxy(user: "cachette", password: "right")
        defer { proxy.stop() }
        let upstream = FakeUpstream()
        let logs = LogCapture()
        try await Harness.run(
            upstream: upstream, logs: logs,
            configure: { config in
                config.logging.level = .trace
                config.upstream.proxy = .server(ProxyServer("http://cachette:wrong-secret@127.0.0.1:\(proxy.port)")!)
            }
        ) { h in
            let response = try await h.post()
            #expect(response.status == .badGateway)
            #expect(!response.text.contains("wrong-secret"))
            let error = try JSONValue.parse(response.body.readableBytesView)["error"]
            #expect(error?["code"]?.stringValue == "upstream_proxy_auth")
            #expect(proxy.refused >= 1 && proxy.tunnels.isEmpty)
            #expect(upstream.calls == 0)
            let health = try await h.get("/health").text
            let stats = try await h.get("/stats").text
            #expect(!health.contains("wrong-secret") && !stats.contains("wrong-secret"))
        }
        #expect(logs.all.contains("upstream_proxy_auth"), "the failure is logged")
        #expect(!logs.all.contains("wrong-secret"))
    }

    @Test("a proxy that tunnels only to port 443 refuses a plain upstream's tunnel, and the error says what to do")
    func tunnelRefused() async throws {
        let proxy = try ConnectProxy(onlyPort: 443)
        defer { proxy.stop() }
        let env = try EnvironmentProxy(["http_proxy": "http://127.0.0.1:\(proxy.port)"])
        try await Harness.run(configure: { $0.upstream.environmentProxy = env }) { h in
            let response = try await h.post()
            #expect(response.status == .badGateway)
            let error = try JSONValue.parse(response.body.readableBytesView)["error"]
            #expect(error?["message"]?.stringValue?.contains("list the host in NO_PROXY") == true, "\(response.text)")
        }
    }

    @Test("a proxy that cannot be reached is named, with the setting that chose it; the upstream is not blamed")
    func deadProxy() async throws {
        let env = try EnvironmentProxy(["http_proxy": "http://user:sk-proxy-secret@127.0.0.1:9"])
        try await Harness.run(configure: { $0.upstream.environmentProxy = env }) { h in
            let response = try await h.post()
            #expect(response.status == .badGateway)
            let error = try JSONValue.parse(response.body.readableBytesView)["error"]
            #expect(error?["code"]?.stringValue == "upstream_proxy_unreachable", "\(response.text)")
            let message = error?["message"]?.stringValue ?? ""
            #expect(message.contains("127.0.0.1:9") && message.contains("HTTP_PROXY") && !message.contains("base_url"), "\(message)")
            #expect(!response.text.contains("sk-proxy-secret"))
        }
        try await Harness.run(configure: { $0.upstream.proxy = .server(ProxyServer("http://127.0.0.1:9")!) }) { h in
            let message = try JSONValue.parse(try await h.post().body.readableBytesView)["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("upstream.proxy"), "\(message)")
        }
    }

    @Test(
        "NO_PROXY matches names and the names under them, IPs, ports and *",
        arguments: [
            ("example.com", "api.example.com", 443, true), (".example.com", "example.com", 443, true),
            ("example.com", "notexample.com", 443, false), ("*.example.com", "a.b.example.com", 443, true),
            ("10.0.0.5", "10.0.0.5", 443, true), ("10.0.0.5", "10.0.0.50", 443, false),
            ("example.com:8443", "example.com", 8443, true), ("example.com:8443", "example.com", 443, false),
            ("*", "anything.internal", 443, true), ("", "example.com", 443, false),
        ])
    func noProxy(entry: String, host: String, port: Int, bypassed: Bool) throws {
        let env = try EnvironmentProxy(["HTTPS_PROXY": "http://proxy.corp:3128", "no_proxy": "localhost," + entry])
        #expect(env.bypasses(host: host, port: port) == bypassed)
        #expect((env.server(scheme: "https", host: host, port: port) == nil) == bypassed)
    }

    @Test("proxy URLs: credentials decoded, port 80 by default, no scheme read as http, the password never printed")
    func proxyURLs() throws {
        let server = try #require(ProxyServer("http://user:p%40ss@proxy.corp:3128"))
        #expect(server.host == "proxy.corp" && server.port == 3128 && server.user == "user" && server.password == "p@ss")
        #expect(!"\(server)".contains("p@ss"))
        #expect(ProxyServer("proxy.corp")?.port == 80)
        #expect(ProxyServer("https://proxy.corp:3128") == nil)  // TLS to the proxy itself is not supported
        #expect(ProxyServer("http://proxy.corp:3128/path") == nil)
        do {
            _ = try EnvironmentProxy(["HTTPS_PROXY": "socks5://user:secret@proxy:1080"])
            Issue.record("accepted a SOCKS proxy")
        } catch {
            #expect(error.key == "HTTPS_PROXY" && !"\(error)".contains("secret"))
        }
    }
}

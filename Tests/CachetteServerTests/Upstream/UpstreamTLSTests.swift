import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// A real HTTPS upstream (the fake, with TLS terminated by NIOSSL) under certificates
/// made by `openssl` for the test: the settings that make it trusted, and the errors
/// a user gets when it is not.
@Suite("Upstreams over TLS")
struct UpstreamTLSTests {
    /// The error's code and message, checked for library text that must never reach a client.
    static func error(_ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) throws -> (code: String?, message: String) {
        #expect(!response.text.contains("NIOSSL"), "\(response.text)", sourceLocation: sourceLocation)
        let error = try JSONValue.parse(response.body.readableBytesView)["error"]
        return (error?["code"]?.stringValue, error?["message"]?.stringValue ?? "")
    }

    static func https(_ host: String) -> @Sendable (Int) -> String { { "https://\(host):\($0)/v1" } }

    @Test("an upstream whose CA is not trusted is a 502 upstream_tls_untrusted that says what to set")
    func untrusted() async throws {
        let pki = try await TestPKI.shared.value
        try await Harness.run(upstream: FakeUpstream(tls: try pki.serverTLS()), upstreamAt: Self.https("127.0.0.1")) { h in
            let response = try await h.post()
            #expect(response.status == .badGateway)
            let (code, message) = try Self.error(response)
            #expect(code == "upstream_tls_untrusted")
            #expect(message == "The certificate of 127.0.0.1 is not trusted; set tls.ca_file or SSL_CERT_FILE to the CA that issued it.")
            #expect(h.upstream.calls == 0)
        }
    }

    @Test(
        "trusted through tls.ca_file, SSL_CERT_FILE or SSL_CERT_DIR: a MISS, then a HIT, and a stream",
        arguments: ["ca_file", "SSL_CERT_FILE", "SSL_CERT_DIR"])
    func trusted(through setting: String) async throws {
        let pki = try await TestPKI.shared.value
        let upstream = FakeUpstream(tls: try pki.serverTLS())
        try await Harness.run(
            upstream: upstream, upstreamAt: Self.https("127.0.0.1"),
            configure: { config in
                switch setting {
                case "ca_file": config.upstream.tls.caFile = pki.caFile
                case "SSL_CERT_FILE": config.upstream.environmentRootsFile = pki.caFile
                default: config.upstream.environmentRootsDirectory = pki.directory  // keys and CSRs in it are skipped
                }
            }
        ) { h in
            try await expectCache(h.post(), "MISS")
            try await expectCache(h.post(), "HIT")
            #expect(upstream.calls == 1)
            upstream.reply(.init(stream: FakeUpstream.chatStream()))
            let stream = try await h.stream()
            #expect(stream.status == 200 && stream.endsWithDone)
            #expect(upstream.calls == 2)
        }
    }

    @Test("a certificate for another name is upstream_tls_name_mismatch; tls.server_name fixes it")
    func serverName() async throws {
        let pki = try await TestPKI.shared.value
        let upstream = FakeUpstream(tls: try pki.serverTLS(named: true))
        try await Harness.run(
            upstream: upstream, upstreamAt: Self.https("127.0.0.1"), configure: { $0.upstream.tls.caFile = pki.caFile }
        ) { h in
            let response = try await h.post()
            #expect(response.status == .badGateway)
            let (code, message) = try Self.error(response)
            #expect(code == "upstream_tls_name_mismatch")
            #expect(message.contains("set tls.server_name"))
        }
        try await Harness.run(
            upstream: upstream, upstreamAt: Self.https("127.0.0.1"),
            configure: { config in
                config.upstream.tls.caFile = pki.caFile
                config.upstream.tls.serverName = "upstream.test"
            }
        ) { h in
            try await expectCache(h.post(), "MISS")
        }
    }

    @Test("tls.verify: false reaches an untrusted upstream, and /health names it")
    func unverified() async throws {
        let pki = try await TestPKI.shared.value
        try await Harness.run(
            upstream: FakeUpstream(tls: try pki.serverTLS()), upstreamAt: Self.https("127.0.0.1"),
            configure: { $0.upstream.tls.verify = false }
        ) { h in
            try await expectCache(h.post(), "MISS")
            #expect(try await h.json("/health")["tls_unverified_upstreams"] == .array([.string("default")]))
        }
        try await Harness.run { h in
            let health = try await h.json("/health")
            #expect(health["tls_unverified_upstreams"] == .array([]))
        }
    }

    @Test("an upstream that asks for a client certificate refuses without one and answers with tls.client_cert and client_key")
    func mutualTLS() async throws {
        let pki = try await TestPKI.shared.value
        let upstream = FakeUpstream(tls: try pki.serverTLS(requireClientCertificate: true))
        try await Harness.run(upstream: upstream, upstreamAt: Self.https("127.0.0.1"), configure: { $0.upstream.tls.caFile = pki.caFile }) { h in
            let response = try await h.post()
            #expect(response.status == .badGateway)
            let (code, _) = try Self.error(response)
            #expect(code == "upstream_tls_handshake", "\(code ?? "nil")")
            #expect(upstream.calls == 0)
        }
        try await Harness.run(
            upstream: upstream, upstreamAt: Self.https("127.0.0.1"),
            configure: { config in
                config.upstream.tls.caFile = pki.caFile
                config.upstream.tls.clientCert = pki.clientCert
                config.upstream.tls.clientKey = pki.clientKey
            }
        ) { h in
            try await expectCache(h.post(), "MISS")
            #expect(upstream.calls == 1)
        }
    }

    @Test("a TLS file that cannot be read stops start-up with one line naming the setting, never a key's path")
    func badFiles() async throws {
        let pki = try await TestPKI.shared.value
        let missing = pki.directory + "/missing.pem"
        let cases: [(String, @Sendable (inout CachetteConfig) -> Void)] = [
            ("upstream.tls.ca_file", { $0.upstream.tls.caFile = missing }),
            ("upstream.tls.ca_file", { $0.upstream.tls.caFile = pki.serverKey }),  // a key, not a certificate
            (
                "upstreams.default.tls.client_key",
                { config in
                    config.upstreams = [CachetteConfig.Upstream(name: "default", baseURL: "https://127.0.0.1:1/v1")]
                    config.upstreams[0].tls.clientCert = pki.clientCert
                    config.upstreams[0].tls.clientKey = missing
                }
            ),
            ("SSL_CERT_FILE", { $0.upstream.environmentRootsFile = missing }),
        ]
        for (setting, configure) in cases {
            var config = CachetteConfig()
            config.cache.path = Harness.temporaryDatabase()
            configure(&config)
            do {
                _ = try CachetteApplication.build(config: config, logger: .init(label: "test"))
                Issue.record("\(setting): start-up went on")
            } catch let error as ConfigError {
                let line = "\(error)"
                #expect(error.key == setting, "\(line)")
                #expect(!line.contains("\n"))
                if setting.hasSuffix("client_key") { #expect(!line.contains(missing), "\(line)") }
            }
        }
    }
}

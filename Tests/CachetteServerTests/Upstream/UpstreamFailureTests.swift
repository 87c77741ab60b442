import AsyncHTTPClient
@testable import CachetteServer
import NIOCore
import NIOSSL
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Upstream failures in words")
struct UpstreamFailureTests {
    static let failure = UpstreamFailure(
        upstream: CachetteConfig.Upstream(name: "internal", baseURL: "https://llm.internal.example/v1"),
        settings: {
            var settings = CachetteConfig.UpstreamSettings()
            settings.connectTimeout = .seconds(10)
            settings.idleTimeout = .milliseconds(2500)
            return settings
        }()
    )

    @Test(
        "each failure has its code, its status and a sentence naming the host, with no library text",
        arguments: [
            (HTTPClientError.connectTimeout as any Error, 504, "upstream_connect_timeout", "within upstream.connect_timeout (10 s)"),
            (HTTPClientError.tlsHandshakeTimeout, 504, "upstream_connect_timeout", "llm.internal.example"),
            (HTTPClientError.deadlineExceeded, 504, "upstream_read_timeout", "within upstream.timeout (600 s)"),
            (HTTPClientError.readTimeout, 504, "upstream_idle_timeout", "for upstream.idle_timeout (2.5 s)"),
            (HTTPClientError.proxyAuthenticationRequired, 502, "upstream_proxy_auth", "HTTPS_PROXY"),
            (HTTPClientError.remoteConnectionClosed, 502, "upstream_unreachable", "closed the connection"),
            (HTTPClientError.invalidProxyResponse, 502, "upstream_unreachable", "list the host in NO_PROXY"),
            (NIOTooManyBytesError(maxBytes: 10), 502, "upstream_response_too_large", "upstream.max_response_bytes"),
            (IOError(errnoCode: ECONNREFUSED, reason: "connect"), 502, "upstream_refused", "refused the connection"),
            (IOError(errnoCode: ECONNRESET, reason: "read"), 502, "upstream_unreachable", "Could not reach llm.internal.example."),
            (NIOSSLExtraError.failedToValidateHostname, 502, "upstream_tls_name_mismatch", "tls.server_name"),
            (NIOSSLError.uncleanShutdown, 502, "upstream_tls_handshake", "llm.internal.example"),
        ])
    func mapped(error: any Error, status: Int, code: String, words: String) {
        let api = Self.failure.apiError(for: error)
        #expect(api.status.code == status)
        #expect(api.code == code)
        #expect(api.message.contains(words), "\(api.message)")
        #expect(!api.message.contains("Error") && !api.message.contains(".build/"), "\(api.message)")
    }
}

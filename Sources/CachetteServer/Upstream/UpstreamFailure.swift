import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Why an upstream call failed, as a stable code and one sentence a user can act on.
/// Library errors print source paths and internal names, so none of their text reaches
/// a client; operators get it in the warning logged alongside.
struct UpstreamFailure: Sendable {
    /// What the sentences name: the upstream's host and the limits it was held to.
    let host: String
    let connectTimeout: Duration
    let timeout: Duration
    let idleTimeout: Duration
    let maxResponseBytes: Int
    /// The proxy between, if any: a connection that fails is then the proxy's.
    let proxy: Proxy?

    struct Proxy: Sendable {
        /// host:port, never its credentials.
        let address: String
        /// Where it was set: `upstream.proxy`, `upstreams.NAME.proxy`, HTTPS_PROXY or HTTP_PROXY.
        let setting: String
    }

    init(upstream: CachetteConfig.Upstream, settings: CachetteConfig.UpstreamSettings, proxy: Proxy? = nil) {
        self.proxy = proxy
        host = URL(string: upstream.baseURL)?.host ?? upstream.name
        connectTimeout = settings.connectTimeout
        timeout = upstream.timeout ?? settings.timeout
        idleTimeout = settings.idleTimeout
        maxResponseBytes = settings.maxResponseBytes
    }

    /// The client's error for `error`, logged with its technical detail.
    func error(_ error: any Error, logger: Logger) -> APIError {
        let mapped = apiError(for: error)
        logger.warning(
            "upstream call failed",
            metadata: ["host": "\(host)", "code": "\(mapped.code)", "detail": "\(String(reflecting: error))"])
        return mapped
    }

    /// The client's error for `error` met while reading a stream whose answer had begun:
    /// a connection cut then is the stream breaking, not an upstream out of reach.
    /// Timeouts and the size limit keep their own codes, which name their settings.
    func streamError(_ error: any Error, logger: Logger) -> APIError {
        var mapped = apiError(for: error)
        if !["upstream_idle_timeout", "upstream_read_timeout", "upstream_response_too_large"].contains(mapped.code) {
            mapped = .upstream(.badGateway, "upstream_stream_failed", "The stream from \(host) broke after it began; nothing was stored.")
        }
        logger.warning(
            "upstream stream broke", metadata: ["host": "\(host)", "code": "\(mapped.code)", "detail": "\(String(reflecting: error))"])
        return mapped
    }

    /// The code and sentence for `error`.
    func apiError(for error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case is NIOTooManyBytesError:
            return .upstream(
                .badGateway, "upstream_response_too_large",
                "The answer from \(host) is larger than upstream.max_response_bytes (\(maxResponseBytes) bytes).")
        case let error as HTTPClientError:
            return apiError(for: error)
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            return .upstream(
                .badGateway, "upstream_tls_name_mismatch",
                "The certificate of \(host) is for another name; set tls.server_name to the name it was issued for.")
        case NIOSSLError.handshakeFailed(let reason):
            return tls(reason)
        case let reason as BoringSSLError:
            // Under TLS 1.3 a refused client certificate arrives after the handshake, as an alert.
            return tls(reason)
        case is NIOSSLError, is NIOSSLCloseTimedOutError:
            return .upstream(.badGateway, "upstream_tls_handshake", "The TLS connection to \(host) failed.")
        case let error as NIOConnectionError:
            if error.connectionErrors.isEmpty, error.dnsAError != nil || error.dnsAAAAError != nil { return unresolved }
            if error.connectionErrors.contains(where: { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }) { return refused }
            return unreachable
        case let error as IOError where error.errnoCode == ECONNREFUSED:
            return refused
        case is SocketAddressError, is SocketAddressError.UnknownHost:
            return unresolved
        default:
            return unreachable
        }
    }

    private func apiError(for error: HTTPClientError) -> APIError {
        switch error {
        case .connectTimeout, .tlsHandshakeTimeout, .httpProxyHandshakeTimeout, .socksHandshakeTimeout, .getConnectionFromPoolTimeout:
            return .upstream(
                .gatewayTimeout, "upstream_connect_timeout",
                "Could not connect to \(host) within upstream.connect_timeout (\(Self.seconds(connectTimeout))).")
        case .deadlineExceeded:
            return .upstream(
                .gatewayTimeout, "upstream_read_timeout", "\(host) did not answer within upstream.timeout (\(Self.seconds(timeout))).")
        case .readTimeout:
            return .upstream(
                .gatewayTimeout, "upstream_idle_timeout", "\(host) sent nothing for upstream.idle_timeout (\(Self.seconds(idleTimeout))).")
        case .proxyAuthenticationRequired:
            return .upstream(
                .badGateway, "upstream_proxy_auth",
                "The proxy refused its credentials (407); check the user and password in the upstream's proxy or HTTPS_PROXY.")
        case .invalidProxyResponse:
            // Squid and tinyproxy allow CONNECT to port 443 only, by default.
            return .upstream(
                .badGateway, "upstream_unreachable",
                "The proxy refused to open a tunnel to \(host); many allow one only to port 443, so list the host in NO_PROXY or set its proxy: none."
            )
        case .remoteConnectionClosed:
            return .upstream(.badGateway, "upstream_unreachable", "\(host) closed the connection before it answered.")
        default:
            return unreachable
        }
    }

    /// BoringSSL names the reason only in its message.
    private func tls(_ reason: BoringSSLError) -> APIError {
        let text = String(describing: reason)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return .upstream(
                .badGateway, "upstream_tls_untrusted",
                "The certificate of \(host) is not trusted; set tls.ca_file or SSL_CERT_FILE to the CA that issued it.")
        }
        if text.contains("CERTIFICATE_REQUIRED") || text.contains("HANDSHAKE_FAILURE") || text.contains("BAD_CERTIFICATE") {
            return .upstream(
                .badGateway, "upstream_tls_handshake",
                "The TLS handshake with \(host) failed; if it asks for a client certificate, set tls.client_cert and tls.client_key.")
        }
        return .upstream(.badGateway, "upstream_tls_handshake", "The TLS handshake with \(host) failed.")
    }

    private var refused: APIError {
        if let proxy { return proxyDown(proxy, "refused the connection") }
        return .upstream(.badGateway, "upstream_refused", "\(host) refused the connection; check the upstream's base_url and port.")
    }

    private var unresolved: APIError {
        if let proxy { return proxyDown(proxy, "could not be resolved") }
        return .upstream(.badGateway, "upstream_dns", "The name \(host) could not be resolved.")
    }

    private var unreachable: APIError {
        if let proxy { return proxyDown(proxy, "could not be reached") }
        return .upstream(.badGateway, "upstream_unreachable", "Could not reach \(host).")
    }

    /// Requests go through a proxy: a connection that fails is to the proxy, not the upstream.
    private func proxyDown(_ proxy: Proxy, _ what: String) -> APIError {
        .upstream(
            .badGateway, "upstream_proxy_unreachable",
            "The proxy \(proxy.address), set by \(proxy.setting), \(what) on the way to \(host); check \(proxy.setting), or set the upstream's proxy: none."
        )
    }

    private static func seconds(_ duration: Duration) -> String {
        let value = duration.seconds
        return value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}

extension APIError {
    /// An upstream failure in OpenAI's error shape.
    static func upstream(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> APIError {
        APIError(status: status, message: message, type: "upstream_error", code: code)
    }
}

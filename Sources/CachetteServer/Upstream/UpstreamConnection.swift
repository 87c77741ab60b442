import AsyncHTTPClient
import Foundation
import NIOSSL

/// How the sidecar reaches one upstream: the TLS it speaks and the base URL its
/// requests name. Built once at start-up, so a file that cannot be read stops start-up
/// with one line naming the setting.
struct UpstreamConnection {
    /// Nil: AsyncHTTPClient's default (the system's roots, full verification).
    let tls: TLSConfiguration?
    /// `base_url`, its host replaced by `tls.server_name` when that is set.
    let baseURL: String
    /// `tls.server_name` → the host `base_url` names: the connection still goes there,
    /// while SNI and the certificate check use the name.
    let dnsOverride: [String: String]
    /// `tls.verify: false`.
    let unverified: Bool
    /// The HTTP proxy requests go through (with `CONNECT`), if any.
    let proxy: HTTPClient.Configuration.Proxy?
    /// That proxy as errors name it: its address (no credentials) and where it was set.
    let proxyName: UpstreamFailure.Proxy?

    init(_ upstream: CachetteConfig.Upstream, settings: CachetteConfig.UpstreamSettings) throws(ConfigError) {
        (proxy, proxyName) = Self.proxy(upstream, settings: settings)
        let own = upstream.tls
        let tls = own.over(settings.tls)
        // Errors name the setting where the value was written.
        func key(_ field: String, _ isOwn: Bool) -> String {
            isOwn ? "upstreams.\(upstream.name).tls.\(field)" : "upstream.tls.\(field)"
        }
        var roots: [NIOSSLCertificate] = []
        if let file = tls.caFile { roots += try Self.certificates(file, key("ca_file", own.caFile != nil)) }
        if let file = settings.environmentRootsFile { roots += try Self.certificates(file, "SSL_CERT_FILE") }
        if let directory = settings.environmentRootsDirectory { roots += try Self.directory(directory) }
        unverified = tls.verify == false
        if roots.isEmpty, !unverified, tls.clientCert == nil {
            self.tls = nil
        } else {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if !roots.isEmpty { configuration.additionalTrustRoots = [.certificates(roots)] }
            if unverified { configuration.certificateVerification = .none }
            if let certificate = tls.clientCert, let privateKey = tls.clientKey {
                let chain = try Self.certificates(certificate, key("client_cert", own.clientCert != nil))
                configuration.certificateChain = chain.map { .certificate($0) }
                // The key's path may come from the environment as a secret: errors do not print it.
                do {
                    configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKey, format: .pem))
                } catch {
                    throw ConfigError(key("client_key", own.clientKey != nil), "cannot be read as a PEM private key")
                }
            }
            self.tls = configuration
        }
        guard let serverName = tls.serverName, var url = URLComponents(string: upstream.baseURL), let host = url.host else {
            baseURL = upstream.baseURL
            dnsOverride = [:]
            return
        }
        url.host = serverName
        baseURL = url.string ?? upstream.baseURL
        dnsOverride = [serverName: host]
    }

    /// The upstream's own `proxy`, else `upstream.proxy`, else the environment's for its scheme and host.
    private static func proxy(
        _ upstream: CachetteConfig.Upstream, settings: CachetteConfig.UpstreamSettings
    ) -> (HTTPClient.Configuration.Proxy?, UpstreamFailure.Proxy?) {
        let server: ProxyServer?
        let setting: String
        switch upstream.proxy ?? settings.proxy {
        case .direct: return (nil, nil)
        case .server(let chosen):
            server = chosen
            setting = upstream.proxy != nil ? "upstreams.\(upstream.name).proxy" : "upstream.proxy"
        case nil:
            guard let url = URLComponents(string: upstream.baseURL), let scheme = url.scheme, let host = url.host else { return (nil, nil) }
            server = settings.environmentProxy.server(scheme: scheme, host: host, port: url.port ?? (scheme.lowercased() == "https" ? 443 : 80))
            setting = scheme.lowercased() == "https" ? "HTTPS_PROXY" : "HTTP_PROXY"
        }
        guard let server else { return (nil, nil) }
        let authorization = server.user.map { HTTPClient.Authorization.basic(username: $0, password: server.password ?? "") }
        return (
            .server(host: server.host, port: server.port, authorization: authorization),
            UpstreamFailure.Proxy(address: "\(server.host):\(server.port)", setting: setting)
        )
    }

    private static func certificates(_ path: String, _ key: String) throws(ConfigError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw ConfigError(key, "cannot read \(path) as PEM certificates")
        }
        guard !certificates.isEmpty else { throw ConfigError(key, "\(path) holds no PEM certificate") }
        return certificates
    }

    /// Every file of the directory that holds PEM certificates; others are skipped, as
    /// OpenSSL's hashed directories hold other files too.
    private static func directory(_ path: String) throws(ConfigError) -> [NIOSSLCertificate] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw ConfigError("SSL_CERT_DIR", "cannot list \(path)")
        }
        return names.sorted().flatMap { name in (try? NIOSSLCertificate.fromPEMFile(path + "/" + name)) ?? [] }
    }
}

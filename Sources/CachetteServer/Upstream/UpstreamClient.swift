import AsyncHTTPClient
import CachetteCore
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Forwards requests to the upstreams: one pooled AsyncHTTPClient per upstream, each
/// with that upstream's TLS, and one with the shared settings for any other.
final class UpstreamClient: Sendable {
    private let fallback: HTTPClient
    /// Per upstream name: its client, the base URL requests name, and how its failures read.
    private let clients: [String: (http: HTTPClient, baseURL: String, failure: UpstreamFailure)]
    private let settings: CachetteConfig.UpstreamSettings
    /// Upstreams whose certificates are not checked (`tls.verify: false`), for `/health`.
    let unverified: [String]
    /// `cache.credential_headers`: dropped, with the query string, from a request that
    /// must not carry the client's credential.
    private let credentialHeaders: Set<String>

    /// Reads every upstream's TLS files: one that cannot be read is a ConfigError.
    init(
        config: CachetteConfig.UpstreamSettings, upstreams: [CachetteConfig.Upstream] = [], credentialHeaders: [String] = []
    ) throws(ConfigError) {
        self.credentialHeaders = Set(credentialHeaders.map { $0.lowercased() })
        var clients: [String: (HTTPClient, String, UpstreamFailure)] = [:]
        var unverified: [String] = []
        // Built first, so a bad file leaves no client to shut down.
        let connections = try upstreams.map { upstream throws(ConfigError) in (upstream, try UpstreamConnection(upstream, settings: config)) }
        let fallbackConnection = try UpstreamConnection(CachetteConfig.Upstream(name: "", baseURL: config.baseURL), settings: config)
        for (upstream, connection) in connections {
            clients[upstream.name] = (
                Self.http(config, connection, headTimeout: upstream.timeout ?? config.timeout), connection.baseURL,
                UpstreamFailure(upstream: upstream, settings: config, proxy: connection.proxyName)
            )
            if connection.unverified { unverified.append(upstream.name) }
        }
        self.clients = clients
        self.unverified = unverified
        fallback = Self.http(config, fallbackConnection, headTimeout: config.timeout)
        settings = config
    }

    private static func http(_ config: CachetteConfig.UpstreamSettings, _ connection: UpstreamConnection, headTimeout: Duration) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        // Its read timeout runs while the head is awaited too: the longer of the two
        // limits, and `IdleWatchdog` holds bodies to `idle_timeout` when that is shorter.
        configuration.timeout = .init(
            connect: .saturating(config.connectTimeout),
            read: .saturating(max(headTimeout, config.idleTimeout))
        )
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: config.maxConnections
        )
        // A refused connection should be a prompt 502, not a wait for the connect deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        configuration.tlsConfiguration = connection.tls
        configuration.dnsOverride = connection.dnsOverride
        configuration.proxy = connection.proxy
        // Nothing here reads spans; the default no-op tracer still parsed every request's
        // URL for its attributes, about 2.5% of a miss's CPU.
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    func shutdown() async throws {
        for client in clients.values { try await client.http.shutdown() }
        try await fallback.shutdown()
    }

    private func http(_ upstream: CachetteConfig.Upstream) -> HTTPClient {
        clients[upstream.name]?.http ?? fallback
    }

    /// Maps the sidecar's `/v1/...` path (or `path`, for a translated request) onto the
    /// upstream's base URL, which already ends in its format's version (`APIProvider.versionPrefix`).
    func makeRequest(
        _ request: Request, upstream: CachetteConfig.Upstream, body: HTTPClientRequest.Body?, clientCredential: Bool = true,
        path: String? = nil, translated: Bool = false
    ) -> HTTPClientRequest {
        var base = Substring(clients[upstream.name]?.baseURL ?? upstream.baseURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        var tail = Substring(path ?? request.uri.path)
        let version = upstream.format.provider.versionPrefix
        if tail.hasPrefix(version) { tail = tail.dropFirst(version.count) }
        var url = String(base + tail)
        // A query may carry a key (`?key=…`, Gemini's way): it goes only with the client's credential.
        if clientCredential, let query = request.uri.query, !query.isEmpty { url += "?" + query }
        var outgoing = HTTPClientRequest(url: url)
        outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
        outgoing.headers = ForwardedHeaders.request(
            request.headers, upstream: upstream, clientCredential: clientCredential, credentialHeaders: clientCredential ? [] : credentialHeaders,
            translated: translated)
        outgoing.body = body
        return outgoing
    }

    /// The time `upstream` allows for the response head.
    private func deadline(_ upstream: CachetteConfig.Upstream) -> TimeAmount {
        .saturating(upstream.timeout ?? settings.timeout)
    }

    /// Sends a request and returns once the response head has arrived.
    func send(_ request: HTTPClientRequest, upstream: CachetteConfig.Upstream, logger: Logger) async throws(APIError) -> HTTPClientResponse {
        do {
            return try await http(upstream).execute(request, timeout: deadline(upstream), logger: logger)
        } catch {
            throw failure(upstream).error(error, logger: logger)
        }
    }

    /// Names what went wrong reaching `upstream`.
    func failure(_ upstream: CachetteConfig.Upstream) -> UpstreamFailure {
        clients[upstream.name]?.failure ?? UpstreamFailure(upstream: upstream, settings: settings)
    }

    /// Sends a request and reads the whole answer.
    func fetch(_ request: HTTPClientRequest, upstream: CachetteConfig.Upstream, logger: Logger) async throws(APIError) -> UpstreamAnswer {
        try await collect(send(request, upstream: upstream, logger: logger), from: upstream, logger: logger)
    }

    /// `upstream.idle_timeout` when a body must be watched for it: it is shorter than the
    /// read timeout `upstream`'s client was given (nil: that timeout is the idle one).
    func idleLimit(_ upstream: CachetteConfig.Upstream) -> Duration? {
        settings.idleTimeout < (upstream.timeout ?? settings.timeout) ? settings.idleTimeout : nil
    }

    /// Reads the whole body of a response whose head has arrived.
    func collect(_ response: HTTPClientResponse, from upstream: CachetteConfig.Upstream, logger: Logger) async throws(APIError) -> UpstreamAnswer {
        let limit = settings.maxResponseBytes
        do {
            let body =
                if let idle = idleLimit(upstream) {
                    try await IdleWatchdog.run(idle: idle) { watchdog in
                        try await WatchedBody(base: response.body, watchdog: watchdog).collect(upTo: limit)
                    }
                } else {
                    try await response.body.collect(upTo: limit)
                }
            return UpstreamAnswer(
                status: HTTPResponse.Status(code: Int(response.status.code)),
                headers: ForwardedHeaders.response(response.headers),
                body: body
            )
        } catch {
            throw failure(upstream).error(error, logger: logger)
        }
    }

}

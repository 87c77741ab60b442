import CachetteCore
import Hummingbird
import Logging

/// Builds the sidecar: the store, the routes and the background services.
public enum CachetteApplication {
    /// The POST endpoints answered from the cache.
    public static let cachedRoutes = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/messages"]

    static let passthroughMethods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .head, .options]

    public static func build(config: CachetteConfig, logger baseLogger: Logger? = nil) throws -> some ApplicationProtocol {
        var logger = baseLogger ?? Logger(label: "cachette")
        logger.logLevel = config.logging.level

        let store: CacheStore? = config.cache.enabled
            ? try CacheStore(
                options: CacheStoreOptions(
                    path: config.cache.path, maxBytes: config.cache.maxBytes,
                    memoryBytes: config.cache.memoryBytes, compressionLevel: Int32(config.cache.compressionLevel),
                    staleSeconds: config.cache.staleIfError.seconds
                ),
                logger: logger
            )
            : nil
        let stats = StatsCounters(restoring: try store?.loadCounters() ?? [:])
        let ledger = try Ledger(store: store, prices: config.accounting.prices, retention: config.accounting.ledgerRetention, maxModels: config.accounting.maxModels)
        let sidecar = Sidecar(config: config, store: store, stats: stats, ledger: ledger, logger: logger)

        let router = Router()
        // First, so a web page's request is refused before anything else reads it.
        router.add(middleware: BrowserGuard(
            allowedHosts: config.server.allowedHosts, allowedOrigins: config.server.allowedOrigins,
            onRefusal: { [stats, metrics = sidecar.metrics] refusal in
                switch refusal {
                case .host:
                    stats.record(.refusedHost)
                    metrics.refusedHost.increment()
                case .origin:
                    stats.record(.refusedOrigin)
                    metrics.refusedOrigin.increment()
                }
            }
        ))
        router.add(middleware: OpenAIErrorMiddleware(maxBodyBytes: config.server.maxBodyBytes))

        let health = HealthEndpoint(sidecar: sidecar)
        let statsEndpoint = StatsEndpoint(sidecar: sidecar)
        router.get("/health") { request, context in health.respond(to: request, context: context) }
        router.get("/stats") { request, context in try await statsEndpoint.respond(to: request, context: context) }
        let metrics = MetricsEndpoint(sidecar: sidecar)
        router.get("/metrics") { request, context in metrics.respond(to: request, context: context) }
        let tokenCount = TokenCountEndpoint(maxBodyBytes: config.server.maxBodyBytes)
        router.post("/v1/tokens/count") { request, context in try await tokenCount.respond(to: request, context: context) }

        let passthrough = Passthrough(sidecar: sidecar)
        for route in cachedRoutes {
            let endpoint = CachedEndpoint(route: route, sidecar: sidecar)
            router.post(RouterPath(route)) { request, context in try await endpoint.respond(to: request, context: context) }
            // Other methods on these paths (e.g. listing stored completions) are the upstream's business.
            for method in passthroughMethods where method != .post {
                router.on(RouterPath(route), method: method) { request, context in
                    try await passthrough.respond(to: request, context: context)
                }
            }
        }
        let countTokens = RoutedPassthrough(sidecar: sidecar, format: .anthropic)
        router.post("/v1/messages/count_tokens") { request, context in try await countTokens.respond(to: request, context: context) }
        let models = ModelsEndpoint(sidecar: sidecar)
        router.get("/v1/models") { request, context in try await models.list(request, context: context) }
        router.get("/v1/models/**") { request, context in try await models.one(request, context: context) }
        for method in passthroughMethods {
            router.on("/v1/**", method: method) { request, context in try await passthrough.respond(to: request, context: context) }
        }

        let host = config.server.host
        let startupLogger = logger
        let readTimeout = config.server.readTimeout
        let connections = ConnectionLimit(maximum: config.server.maxConnections)
        return Application(
            router: router,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [connections.handler(), RequestReadTimeout(timeout: readTimeout)],
                idleTimeout: .nanoseconds(Int64(config.server.idleTimeout.seconds * 1e9))
            )),
            configuration: .init(address: .hostname(host, port: config.server.port), serverName: nil),
            services: [MaintenanceService(sidecar: sidecar)],
            onServerRunning: { channel in
                startupLogger.info(
                    "cachette listening",
                    metadata: [
                        "address": "\(channel.localAddress?.description ?? host)",
                        "upstreams": "\(config.routes.map { "\($0.name)=\($0.baseURL)" }.joined(separator: " "))",
                        "cache": "\(config.cache.enabled ? config.cache.path : "disabled")",
                        "scope": "\(config.cache.scope.rawValue)",
                    ]
                )
            },
            logger: logger
        )
    }
}

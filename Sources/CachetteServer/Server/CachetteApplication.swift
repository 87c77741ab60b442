import CachetteCore
import CachetteShared
import Foundation
import Hummingbird
import Logging

/// Builds the sidecar: the store, the routes and the background services.
package enum CachetteApplication {
    /// The cached paths and the shape an answer of each must have to be stored, for
    /// commands that store entries themselves (`cache import`).

    static let passthroughMethods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .head, .options]

    package static func build(config: CachetteConfig, logger baseLogger: Logger? = nil) throws -> some ApplicationProtocol {
        var logger = baseLogger ?? Logger(label: "cachette")
        logger.logLevel = config.logging.level

        let database = config.cache.enabled ? try CachetteDatabase(path: config.cache.path, logger: logger) : nil
        let shared = config.shared.url.map { PostgresTier(options: sharedOptions(config, url: $0), logger: logger) }
        let store: CacheStore? = try database.map {
            try CacheStore(
                database: $0,
                options: CacheStoreOptions(
                    path: config.cache.path, maxBytes: config.cache.maxBytes,
                    memoryBytes: config.cache.memoryBytes, zstdLevel: Int32(config.cache.zstdLevel),
                    staleSeconds: config.cache.staleIfError.seconds, maxEntryBytes: config.upstream.maxResponseBytes
                ),
                shared: shared,
                logger: logger
            )
        }
        let stats = StatsCounters(restoring: try database?.loadCounters() ?? [:])
        let clusterLedger = config.shared.ledger ? shared.map(ClusterLedger.init(tier:)) : nil
        let ledger = try Ledger(
            database: database, prices: config.accounting.prices, retention: config.accounting.ledgerRetention,
            maxModels: config.accounting.maxModels, cluster: clusterLedger
        )
        let metrics = CachetteMetrics(routes: CachedRoute.allCases.map(\.path) + [Passthrough.route, CompressEndpoint.route])
        let accounting = Accounting(stats: stats, ledger: ledger, metrics: metrics)
        let client = try UpstreamClient(
            config: config.upstream, upstreams: config.resolvedUpstreams, credentialHeaders: config.cache.credentialHeaders)
        for name in client.unverified {
            logger.warning(
                "tls.verify is false: the upstream's certificate is not checked, so anyone on the path can read and change its traffic",
                metadata: ["upstream": "\(name)"])
        }
        for upstream in config.resolvedUpstreams where URLComponents(string: upstream.baseURL)?.path.allSatisfy({ $0 == "/" }) ?? false {
            // `/v1/chat/completions` maps to `<base_url>/chat/completions`: most APIs want a version there.
            logger.warning(
                "base_url has no version path, so requests go to \(upstream.baseURL)/chat/completions; most APIs want one, as https://api.openai.com/v1",
                metadata: ["upstream": "\(upstream.name)"])
        }
        let router = UpstreamRouter(config.resolvedUpstreams)
        let tracing = try RequestTracer.make(config.telemetry, upstreams: config.resolvedUpstreams, logger: logger)
        let relay = Relay(client: client, accounting: accounting, logger: logger, offline: config.cache.mode == .offline)

        let routes = Router()
        let browserGuard = BrowserGuard<BasicRequestContext>(
            allowedHosts: config.server.allowedHosts, allowedOrigins: config.server.allowedOrigins,
            onRefusal: { refusal in accounting.note(refusal == .host ? .refusedHost : .refusedOrigin) }
        )
        // First, so a web page's request is refused before anything else reads it.
        routes.add(middleware: browserGuard)
        routes.add(middleware: OpenAIErrorMiddleware(maxBodyBytes: config.server.maxBodyBytes))

        DashboardEndpoint().addRoutes(to: routes)
        HealthEndpoint(store: store, shared: shared, startedAt: .now, unverifiedUpstreams: client.unverified).addRoutes(to: routes)
        let steering = PromptCacheSteering(settings: config.promptCache.steering)
        StatsEndpoint(stats: stats, ledger: ledger, store: store, shared: shared, clusterLedger: clusterLedger, steering: steering).addRoutes(
            to: routes)
        StatsSeriesEndpoint(ledger: ledger).addRoutes(to: routes)
        RecentRequestsEndpoint(ledger: ledger).addRoutes(to: routes)
        MetricsEndpoint(metrics: metrics, store: store, shared: shared, steering: steering).addRoutes(to: routes)
        TokenCountEndpoint(maxBodyBytes: config.server.maxBodyBytes).addRoutes(to: routes)
        CompressEndpoint(compression: config.compression, accounting: accounting, maxBodyBytes: config.server.maxBodyBytes).addRoutes(to: routes)

        let scope = RequestScope(cache: config.cache)
        let owners = ResponseOwners(scope: scope)
        let passthrough = Passthrough(
            router: router, owners: owners, relay: relay, maxBodyBytes: config.server.maxBodyBytes,
            maxPassthroughBytes: config.server.maxPassthroughBytes
        )
        let storage = store.map {
            StorePolicy(store: $0, ttl: config.cache.ttl.seconds, maxTTL: config.cache.maxTTL.seconds, accounting: accounting, logger: logger)
        }
        let forwarder = Forwarder(
            router: router, client: client, compression: config.compression,
            streams: .init(maxBufferedBytes: config.stream.maxBufferedBytes, finishOnDisconnect: config.stream.finishOnDisconnect),
            owners: owners, accounting: accounting, scope: scope, promptCache: config.promptCache, steering: steering, logger: logger
        )
        // Keyed per cache file, so tags stay stable across restarts; random without one.
        let fingerprint = (try? database?.fingerprintSalt()).map(CredentialFingerprint.init(salt:)) ?? .random()
        let miss = MissFlight(flights: SingleFlight(), forwarder: forwarder, staleIfError: config.cache.staleIfError.seconds)
        var endpoints: [CachedEndpoint] = []
        for route in CachedRoute.allCases {
            let endpoint = CachedEndpoint(
                intake: RequestIntake(
                    route: route, maxBodyBytes: config.server.maxBodyBytes,
                    keyer: RequestKeyer(
                        keyFields: config.cache.keyFields, volatileFields: route.volatileFields, ignore: KeyIgnore(patterns: config.cache.keyIgnore),
                        model: route.format.provider.model),
                    scope: scope,
                    compression: config.compression.level
                ),
                storage: storage, miss: miss, accounting: accounting, offline: config.cache.mode == .offline, fingerprint: fingerprint,
                tracer: tracing?.tracer
            )
            endpoint.addRoutes(to: routes)
            endpoints.append(endpoint)
            // Other methods on these paths (e.g. listing stored completions) are the upstream's business.
            for method in passthroughMethods where method != .post {
                routes.on(RouterPath(route.path), method: method) { request, context in try await passthrough.respond(to: request, context: context) }
            }
        }
        routes.post("/v1/messages/count_tokens") { request, _ in try await passthrough.respondNamingModel(request, format: .anthropic) }
        ModelsEndpoint(router: router, relay: relay).addRoutes(to: routes)
        for method in passthroughMethods {
            routes.on("/v1/**", method: method) { request, context in try await passthrough.respond(to: request, context: context) }
        }

        let host = config.server.host
        let startupLogger = logger
        let readTimeout = config.server.readTimeout
        let connections = ConnectionLimit(maximum: config.server.maxConnections)
        return Application(
            router: routes,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [connections.handler(), RequestReadTimeout(timeout: readTimeout)],
                    idleTimeout: .saturating(config.server.idleTimeout)
                ),
                fastLane: config.server.fastLane
                    ? FastLane(
                        endpoints: endpoints, browserGuard: browserGuard, maxBodyBytes: config.server.maxBodyBytes,
                        answered: accounting.metrics.fastLaneAnswers, logger: logger) : nil),
            configuration: .init(address: .hostname(host, port: config.server.port), serverName: nil),
            // Shut down in reverse order, after the server: the tracer's last spans, the
            // shared tier's last batch, the ledger and counters, the cache's queue, and the
            // upstreams' pools last.
            services: [UpstreamClientService(client: client)] + (store.map { [CacheWriterService(store: $0, logger: logger)] } ?? [])
                + [BookkeepingService(database: database, stats: stats, ledger: ledger, logger: logger), TokenizerWarmup(logger: logger)]
                + (shared.map { [SharedTierService(tier: $0)] } ?? []) + (tracing.map { [$0.service] } ?? []),
            onServerRunning: { channel in
                startupLogger.info(
                    "cachette listening",
                    metadata: [
                        "address": "\(channel.localAddress?.description ?? host)",
                        "upstreams": "\(router.upstreams.map { "\($0.name)=\($0.baseURL)" }.joined(separator: " "))",
                        "cache": "\(config.cache.enabled ? config.cache.path : "disabled")",
                        "scope": "\(config.cache.scope.rawValue)",
                        "mode": "\(config.cache.mode.rawValue)",
                        "shared": "\(config.shared.url?.redacted ?? "off")",
                        "traces": "\(config.telemetry.tracesEndpoint ?? "off")",
                    ]
                )
            },
            logger: logger
        )
    }

    /// The shared tier's options: its section, plus what it shares with the local cache
    /// (compression level, stale window) and the upstream (a flight's deadline).
    static func sharedOptions(_ config: CachetteConfig, url: SharedURL) -> SharedTierOptions {
        var options = SharedTierOptions(url: url)
        options.poolSize = config.shared.poolSize
        options.timeout = config.shared.timeout
        options.maxBytes = config.shared.maxBytes
        options.ledger = config.shared.ledger
        options.unlogged = config.shared.unlogged
        options.pruneInterval = config.shared.pruneInterval
        options.ledgerRetention = config.accounting.ledgerRetention
        options.flightDeadline = config.resolvedUpstreams.compactMap(\.timeout).reduce(config.upstream.timeout, max)
        options.staleSeconds = config.cache.staleIfError.seconds
        options.zstdLevel = Int32(config.cache.zstdLevel)
        options.check = config.entryCheck
        return options
    }
}

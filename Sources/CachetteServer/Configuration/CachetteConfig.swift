import CachetteCore
import CachetteShared
import Foundation
import Logging

/// Every setting, with its default. `config/cachette.yaml` documents each one.
package struct CachetteConfig: Sendable {
    package var server = Server()
    package var upstream = UpstreamSettings()
    /// `upstreams:`, tried in order; empty means one `default` upstream at `upstream.base_url`.
    package var upstreams: [Upstream] = []
    package var cache = Cache()
    package var shared = Shared()
    package var stream = Stream()
    package var accounting = Accounting()
    package var compression = CompressionOptions()
    package var promptCache = PromptCache()
    package var logging = Logging()
    package var telemetry = Telemetry()

    package init() {}

    /// `prompt_cache:`: helping the provider's own prompt cache.
    package struct PromptCache: Sendable {
        /// Set `prompt_cache_key` on long OpenAI requests that carry none.
        package var openai = PromptCacheMode.auto
        /// Add priced `cache_control` breakpoints to Anthropic requests that carry none.
        package var anthropic = PromptCacheMode.auto
        /// `max_prefixes`, `minimum_tokens`, `minimum_margin_percent`.
        package var steering = PromptCacheSteering.Settings()
    }

    package enum PromptCacheMode: String, Sendable, CaseIterable {
        case auto, off
    }

    package struct Server: Sendable {
        package var host = "127.0.0.1"
        package var port = 8766
        /// Largest body of a cached endpoint's request.
        package var maxBodyBytes = 10 << 20
        /// Largest body of a passthrough request (uploads), streamed through.
        package var maxPassthroughBytes = 512 << 20
        /// Names besides `localhost` and IP literals that `Host` may carry (`BrowserGuard`).
        package var allowedHosts: [String] = []
        /// Origins (`https://app.example`) whose pages may call the sidecar.
        package var allowedOrigins: [String] = []
        /// Longest time to receive a request, from the connection's opening or the head's arrival to the body's end.
        package var readTimeout: Duration = .seconds(30)
        /// Longest wait for the next request on a kept-alive connection.
        package var idleTimeout: Duration = .seconds(120)
        /// Connections open at once; one over the limit is closed when accepted.
        package var maxConnections = 1024
        /// Answer memory-tier hits on the connection's event loop (`FastLane`).
        package var fastLane = true
    }

    /// `upstream:`: the settings every upstream shares, and the default upstream's URL and key.
    package struct UpstreamSettings: Sendable {
        package var baseURL = "https://api.openai.com/v1"
        /// Replaces the client's credential when set. Never logged.
        package var apiKey: String?
        /// Longest wait for the upstream's response head.
        package var timeout: Duration = .seconds(600)
        /// Longest silence while the response body is arriving.
        package var idleTimeout: Duration = .seconds(300)
        package var connectTimeout: Duration = .seconds(10)
        package var maxConnections = 64
        /// Largest non-streamed answer read into memory (and so cacheable).
        package var maxResponseBytes = 64 << 20
        /// `upstream.tls`: the default of every upstream's `tls`.
        package var tls = UpstreamTLSSettings()
        /// `SSL_CERT_FILE` and `SSL_CERT_DIR`: more roots every upstream trusts, as curl and Python honour them.
        package var environmentRootsFile: String?
        package var environmentRootsDirectory: String?
        /// `upstream.proxy`: the default of every upstream's `proxy`; nil, the environment's.
        package var proxy: UpstreamProxy?
        /// `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`.
        package var environmentProxy = EnvironmentProxy()
    }

    /// One entry of `upstreams:`: where requests for matching models go.
    package struct Upstream: Sendable, Equatable {
        package var name: String
        package var baseURL: String
        package var format = APIFormat.openai
        /// Glob patterns of model names. The upstream named `default` takes every model.
        package var models: [String] = []
        /// Replaces the client's credential when set. Never logged.
        package var apiKey: String?
        /// Nil: `upstream.timeout`.
        package var timeout: Duration?
        /// Sent with every request to this upstream.
        package var headers: [Header] = []
        /// Unset fields come from `upstream.tls`.
        package var tls = UpstreamTLSSettings()
        /// Nil: `upstream.proxy`.
        package var proxy: UpstreamProxy?

        package struct Header: Sendable, Equatable {
            package var name: String
            package var value: String
        }

        package init(name: String, baseURL: String, format: APIFormat = .openai, models: [String] = [], apiKey: String? = nil) {
            self.name = name
            self.baseURL = baseURL
            self.format = format
            self.models = models
            self.apiKey = apiKey
        }

        package var isDefault: Bool { name == "default" }

        package func matches(model: String) -> Bool {
            isDefault || models.contains { Glob.matches($0, model) }
        }
    }

    /// The upstreams in force: `upstreams`, or one `default` upstream built from `upstream`.
    package var resolvedUpstreams: [Upstream] {
        upstreams.isEmpty ? [Upstream(name: "default", baseURL: upstream.baseURL, apiKey: upstream.apiKey)] : upstreams
    }

    /// The first upstream whose patterns match the model, else the `default` one.
    package static func upstream(for model: String, in upstreams: [Upstream]) -> Upstream? {
        upstreams.first { !$0.isDefault && $0.matches(model: model) } ?? upstreams.first(where: \.isDefault)
    }

    package enum Mode: String, Sendable, CaseIterable {
        /// Misses go to the upstream.
        case online
        /// No upstream is ever called: a miss is a 503 `cache_miss_offline` (replaying a recorded cache).
        case offline
    }

    package enum Scope: String, Sendable, CaseIterable {
        /// Entries belong to the API key that created them.
        case credential
        /// All clients share entries (only for a single trusted tenant).
        case shared
    }

    package struct Cache: Sendable {
        package var enabled = true
        package var mode = Mode.online
        package var path = CachetteConfig.defaultDatabasePath()
        package var ttl: Duration = .seconds(24 * 3600)
        /// The longest any entry lives: `x-cachette-ttl`, `cache import --ttl` and entries
        /// read back from an import or the shared tier are held to it.
        package var maxTTL: Duration = .seconds(365 * 86400)
        package var maxBytes = 1 << 30
        package var memoryBytes = 64 << 20
        package var scope = Scope.credential
        package var keyFields = KeyFields.all
        /// Globs of system texts left out of the key, besides Claude Code's billing header.
        package var keyIgnore: [String] = []
        /// `cache.compression_level`: zstd's, for stored bodies.
        package var zstdLevel = 3
        /// Further headers that carry a credential, part of every entry's scope.
        package var credentialHeaders: [String] = []
        /// How long past its TTL an entry is kept and served when the upstream fails (RFC 5861).
        package var staleIfError: Duration = .seconds(24 * 3600)
    }

    /// `shared:`: the PostgreSQL tier replicas share. Off without a URL.
    package struct Shared: Sendable {
        /// `postgres://user:password@host:port/db[?sslmode=…]`; its password is never shown.
        package var url: SharedURL?
        package var poolSize = 8
        /// A shared read slower than this counts as a local miss.
        package var timeout: Duration = .milliseconds(250)
        package var maxBytes = 20 << 30
        /// Book every request's ledger row in PostgreSQL too, for `/stats?scope=cluster`.
        package var ledger = true
        /// Create the shared tables UNLOGGED (faster, lost on a PostgreSQL crash, not replicated).
        package var unlogged = false
        /// How often one replica enforces the shared TTL and byte budget.
        package var pruneInterval: Duration = .seconds(60)
    }

    package struct Stream: Sendable {
        /// Keep reading an upstream stream whose clients all left, so the tokens being
        /// paid for land in the cache. false: cancel the upstream request instead.
        package var finishOnDisconnect = true
        /// The most bytes of one stream held in memory: a longer stream is relayed but
        /// not recorded, and a client this far behind pauses the stream (and is cut off
        /// if it reads nothing for `LiveStream.readerPatience`).
        package var maxBufferedBytes = 8 << 20
    }

    package struct Accounting: Sendable {
        /// The shipped `pricing.yaml`, then `pricing.file` in its place, then `pricing.models`.
        package var prices = PriceTable(CachetteConfig.shippedPrices)
        /// How long each request's ledger row is kept; per-model all-time sums are kept for good.
        package var ledgerRetention: Duration = .seconds(30 * 86400)
        /// Distinct model names kept apart in /stats, /metrics and the ledger; later ones are booked as `other`.
        package var maxModels = 200
    }

    /// The price table shipped in the package (`config/pricing.yaml` is the same file).
    package static let shippedPrices: [String: ModelPrice] = {
        guard let url = ResourceBundle.url("CachetteServer", "pricing", "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8),
            let table = try? ConfigLoader.priceYAML(text, key: "pricing.yaml")
        else { return [:] }
        return table
    }()

    package struct Logging: Sendable {
        package var level = Logger.Level.info
    }

    /// `$XDG_CACHE_HOME/cachette/cachette.sqlite`, else `~/.cache/cachette/cachette.sqlite`.
    /// `$XDG_DATA_HOME/cachette/cachette.sqlite` (`~/.local/share/...`): the file holds the
    /// ledger, which is history, not a cache. A file at the old default under
    /// `$XDG_CACHE_HOME` (`~/.cache/...`), with none at the new one, is still used.
    package static func defaultDatabasePath(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) -> String {
        func folder(_ variable: String, _ fallback: String) -> String {
            environment[variable].flatMap { $0.isEmpty ? nil : $0 } ?? (environment["HOME"] ?? NSHomeDirectory()) + fallback
        }
        let path = folder("XDG_DATA_HOME", "/.local/share") + "/cachette/cachette.sqlite"
        let legacy = folder("XDG_CACHE_HOME", "/.cache") + "/cachette/cachette.sqlite"
        return !exists(path) && exists(legacy) ? legacy : path
    }
}

extension CachetteConfig {
    /// What an entry from outside this process (an import line, a shared row) must be:
    /// no larger than an upstream may answer, kept no longer than `cache.max_ttl`.
    package var entryCheck: EntryCheck {
        EntryCheck(maxBytes: upstream.maxResponseBytes, maxTTL: cache.maxTTL.seconds)
    }
}

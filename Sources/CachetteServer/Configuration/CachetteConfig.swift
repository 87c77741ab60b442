import CachetteCore
import Foundation
import Logging

/// Every setting, with its default. `config/cachette.yaml` documents each one.
public struct CachetteConfig: Sendable {
    public var server = Server()
    public var upstream = Upstream()
    public var cache = Cache()
    public var stream = Stream()
    public var accounting = Accounting()
    public var compression = CompressionOptions()
    public var logging = Logging()

    public init() {}

    public struct Server: Sendable {
        public var host = "127.0.0.1"
        public var port = 8766
        public var maxBodyBytes = 10 << 20
    }

    public struct Upstream: Sendable {
        public var baseURL = "https://api.openai.com/v1"
        /// Replaces the client's credential when set. Never logged.
        public var apiKey: String?
        /// Longest wait for the upstream's response head.
        public var timeout: Duration = .seconds(600)
        /// Longest silence while the response body is arriving.
        public var idleTimeout: Duration = .seconds(300)
        public var connectTimeout: Duration = .seconds(10)
        public var maxConnections = 64
        /// Largest non-streamed answer read into memory (and so cacheable).
        public var maxResponseBytes = 64 << 20
    }

    public enum Scope: String, Sendable, CaseIterable {
        /// Entries belong to the API key that created them.
        case credential
        /// All clients share entries (only for a single trusted tenant).
        case shared
    }

    public struct Cache: Sendable {
        public var enabled = true
        public var path = CachetteConfig.defaultDatabasePath()
        public var ttl: Duration = .seconds(24 * 3600)
        public var maxBytes = 1 << 30
        public var memoryBytes = 64 << 20
        public var scope = Scope.credential
        public var keyFields = KeyFields.all
        public var compressionLevel = 3
    }

    public struct Stream: Sendable {
        /// Keep reading an upstream stream whose clients all left, so the tokens being
        /// paid for land in the cache. false: cancel the upstream request instead.
        public var finishOnDisconnect = true
        /// The most bytes of one stream held in memory: a longer stream is relayed but
        /// not recorded, and a client this far behind pauses the stream (and is cut off
        /// if it reads nothing for `StreamFlight.readerPatience`).
        public var maxBufferedBytes = 8 << 20
    }

    public struct Accounting: Sendable {
        /// The shipped `pricing.yaml`, then `pricing.file` in its place, then `pricing.models`.
        public var prices = PriceTable(CachetteConfig.shippedPrices)
        /// How long each request's ledger row is kept; per-model all-time sums are kept for good.
        public var ledgerRetention: Duration = .seconds(30 * 86400)
    }

    /// The price table shipped in the package (`config/pricing.yaml` is the same file).
    public static let shippedPrices: [String: ModelPrice] = {
        guard let url = Bundle.module.url(forResource: "pricing", withExtension: "yaml"),
              let text = try? String(contentsOf: url, encoding: .utf8),
              let table = try? ConfigLoader.priceYAML(text, key: "pricing.yaml")
        else { return [:] }
        return table
    }()

    public struct Logging: Sendable {
        public var level = Logger.Level.info
    }

    /// `$XDG_CACHE_HOME/cachette/cachette.sqlite`, else `~/.cache/cachette/cachette.sqlite`.
    public static func defaultDatabasePath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.cache"
        return base + "/cachette/cachette.sqlite"
    }
}

extension Duration {
    /// Whole and fractional seconds, for the places that want a Double.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}

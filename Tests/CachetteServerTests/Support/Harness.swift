import AsyncHTTPClient
import CachetteCore
import CachetteServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

/// Runs the real sidecar on a loopback port in front of a `FakeUpstream`.
struct Harness {
    let client: any TestClientProtocol
    let upstream: FakeUpstream
    let config: CachetteConfig
    var port: Int { client.port! }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    static func temporaryDatabase() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("cache.sqlite").path
    }

    /// - Parameters:
    ///   - database: reuse a file across runs to test persistence.
    ///   - upstreamURL: point somewhere other than the fake upstream (failure tests).
    static func run(
        upstream: FakeUpstream = FakeUpstream(),
        database: String = temporaryDatabase(),
        upstreamURL: String? = nil,
        upstreamAt: @Sendable (_ port: Int) -> String = { "http://127.0.0.1:\($0)/v1" },
        logs: LogCapture? = nil,
        configure: @Sendable (inout CachetteConfig) -> Void = { _ in },
        _ body: @Sendable (Harness) async throws -> Void
    ) async throws {
        try await upstream.application.test(.live) { upstreamClient in
            var config = sidecarConfig(upstream: upstreamURL ?? upstreamAt(upstreamClient.port!), database: database)
            configure(&config)
            let finalConfig = config
            let app = try CachetteApplication.build(config: config, logger: logger(config, logs))
            try await app.test(.live) { client in
                try await body(Harness(client: client, upstream: upstream, config: finalConfig))
            }
        }
    }

    /// A test sidecar's settings: loopback on a free port, in front of `upstream`, with
    /// a SQLite file of its own.
    static func sidecarConfig(upstream: String, database: String) -> CachetteConfig {
        var config = CachetteConfig()
        config.server.host = "127.0.0.1"
        config.server.port = 0
        config.upstream.baseURL = upstream
        config.cache.path = database
        return config
    }

    /// Its logger: silent unless `logs` captures what it writes.
    static func logger(_ config: CachetteConfig, _ logs: LogCapture?) -> Logger {
        var logger = Logger(label: "cachette-test") { label in logs.map { $0.handler(label) } ?? SwiftLogNoOpLogHandler() }
        logger.logLevel = config.logging.level
        return logger
    }

    /// `count` sidecars in front of one `FakeUpstream`, each with its own SQLite file;
    /// `configure` gets each replica's index (to point them at one shared tier).
    static func runReplicas(
        _ count: Int,
        upstream: FakeUpstream = FakeUpstream(),
        logs: LogCapture? = nil,
        configure: @escaping @Sendable (inout CachetteConfig, Int) -> Void,
        _ body: @Sendable ([Harness]) async throws -> Void
    ) async throws {
        try await upstream.application.test(.live) { upstreamClient in
            @Sendable func nest(_ started: [Harness]) async throws {
                guard started.count < count else { return try await body(started) }
                var config = sidecarConfig(upstream: "http://127.0.0.1:\(upstreamClient.port!)/v1", database: temporaryDatabase())
                configure(&config, started.count)
                let finalConfig = config
                let app = try CachetteApplication.build(config: config, logger: logger(config, logs))
                try await app.test(.live) { client in
                    try await nest(started + [Harness(client: client, upstream: upstream, config: finalConfig)])
                }
            }
            try await nest([])
        }
    }

    // MARK: Requests

    static let chatBody = #"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hello"}],"temperature":0.2}"#

    @discardableResult
    func post(_ path: String = "/v1/chat/completions", _ body: String = Harness.chatBody, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        if headers[.authorization] == nil { headers[.authorization] = "Bearer sk-test-one" }
        return Self.clean(try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)))
    }

    /// Every error body the suite reads is checked for library text: a source path or
    /// BoringSSL's name means a library's error reached a client as it was.
    static func clean(_ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) -> TestResponse {
        if response.status.code >= 400 { expectNoLibraryText(response.text, sourceLocation: sourceLocation) }
        return response
    }

    /// A POST for AsyncHTTPClient, for what the sequential test client cannot do
    /// (concurrency, streamed bodies, reading a stream as it arrives).
    func clientRequest(_ path: String = "/v1/chat/completions", _ body: HTTPClientRequest.Body = .bytes(ByteBuffer(string: Harness.chatBody)))
        -> HTTPClientRequest
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "authorization", value: "Bearer sk-test-one")
        request.body = body
        return request
    }

    func get(_ path: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        Self.clean(try await client.execute(uri: path, method: .get, headers: headers))
    }

    func json(_ path: String) async throws -> JSONValue {
        try await JSONValue.parse(get(path).body.readableBytesView)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var xCache: String? { headers[HTTPField.Name("X-Cache")!] }
    var cacheKey: String? { headers[HTTPField.Name("x-cachette-key")!] }
}

/// Collects log lines in memory so tests can check what was (not) logged.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    var all: String { lines.withLock { $0.joined(separator: "\n") } }

    func handler(_ label: String) -> any LogHandler {
        Handler(capture: self)
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.level) \(event.message) \(merged)")
        }
    }
}

/// `#expect` on an awaited response, kept out of the macro so it can throw.
func expectNoLibraryText(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!text.contains(".build/") && !text.contains("BoringSSL") && !text.contains("checkouts/"), "\(text)", sourceLocation: sourceLocation)
}

func expectCache(_ response: TestResponse, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.xCache == expected, "X-Cache", sourceLocation: sourceLocation)
}

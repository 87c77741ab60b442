// swift-tools-version: 6.1
import Foundation
import PackageDescription

let package = Package(
    name: "Cachette",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cachette", targets: ["cachette"]),
        .library(name: "CachetteCore", targets: ["CachetteCore"]),
        .library(name: "CachetteServer", targets: ["CachetteServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // The TLS settings of upstreams, and the errors of their handshakes.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Traces over OTLP/HTTP only: the trait list leaves gRPC out of the build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
    ],
    targets: [
        .systemLibrary(
            name: "CXXHash",
            pkgConfig: "libxxhash",
            providers: [.apt(["libxxhash-dev"])]
        ),
        // The commit `cachette --version` names (`make` writes commit.h).
        .target(name: "CBuildInfo", path: "Sources/CBuildInfo"),
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .target(
            name: "CachetteCore",
            dependencies: [
                "CXXHash",
                "CZstd",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for StatementBinder.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // tiktoken's vocabularies (MIT, licence alongside), checked by SHA-256 at load.
            resources: [
                .copy("Resources/cl100k_base.tiktoken"),
                .copy("Resources/o200k_base.tiktoken"),
                .copy("Resources/LICENSE-tiktoken"),
            ]
        ),
        // The shared tier on PostgreSQL and the cluster ledger, apart from Core so that
        // Core needs no PostgreSQL client.
        .target(
            name: "CachetteShared",
            dependencies: [
                "CachetteCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                // A plain TCP connect, to tell a refused PostgreSQL from a slow one.
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .target(
            name: "CachetteServer",
            dependencies: [
                "CachetteCore",
                "CachetteShared",
                "CBuildInfo",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            // The shipped price table; config/pricing.yaml links to it.
            resources: [.copy("Resources/pricing.yaml"), .copy("Resources/dashboard")]
        ),
        .executableTarget(
            name: "cachette",
            dependencies: [
                "CachetteServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Helpers both test targets share.
        .target(
            name: "CachetteTestSupport",
            dependencies: ["CachetteCore", .product(name: "NIOCore", package: "swift-nio")],
            path: "Tests/CachetteTestSupport"
        ),
        .testTarget(
            name: "CachetteCoreTests",
            dependencies: [
                "CachetteCore",
                "CachetteTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // tiktoken 0.14.0's golden encodings, from shared/tokenizers.
            resources: [.copy("Fixtures/tokenizer-fixtures.jsonl"), .copy("Fixtures/translation"), .copy("Fixtures/responses")]
        ),
        .testTarget(
            name: "CachetteSharedTests",
            dependencies: ["CachetteShared", "CachetteCore"]
        ),
        .testTarget(
            name: "CachetteServerTests",
            dependencies: [
                "CachetteServer",
                "CachetteCore",
                "CachetteShared",
                "CachetteTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer entry points (`make fuzz`), only in a build made for them: they have no
// `main` of their own, so they are kept out of `swift build` and `swift test`.
if ProcessInfo.processInfo.environment["CACHETTE_FUZZ"] != nil {
    let fuzzers: [(String, Target.Dependency)] = [
        ("FuzzKeying", "CachetteCore"), ("FuzzStreams", "CachetteCore"), ("FuzzTranslation", "CachetteCore"),
        ("FuzzCompression", "CachetteCore"), ("FuzzTokenizer", "CachetteCore"), ("FuzzConfig", "CachetteServer"),
        ("FuzzImport", "CachetteCore"), ("FuzzStoredEntry", "CachetteCore"),
    ]
    package.targets.append(.target(name: "CFuzzDriver", path: "Fuzz/CFuzzDriver"))
    for (name, dependency) in fuzzers {
        package.targets.append(
            .executableTarget(
                name: name,
                dependencies: [dependency, "CFuzzDriver", .product(name: "NIOCore", package: "swift-nio")],
                path: "Fuzz/\(name)",
                // libFuzzer supplies main; `make fuzz` instruments every module with -sanitize=fuzzer,address.
                swiftSettings: [.unsafeFlags(["-parse-as-library"])]
            ))
        package.products.append(.executable(name: name, targets: [name]))
    }
}

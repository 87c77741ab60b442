// swift-tools-version: 6.1
// Benchmarks live in their own package so `make test` never builds the harness.
import PackageDescription

let package = Package(
    name: "CachetteBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Cachette", path: ".."),
        // MallocInterposer alone: the default RuntimeInterposer trait needs a package the mirror lacks.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "CachetteBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CachetteCore", package: "Cachette"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "CachetteBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "BenchUpstream",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "BenchUpstream"
        ),
        .executableTarget(name: "StreamReplay", path: "StreamReplay"),
        .executableTarget(
            name: "BareProxy",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "BareProxy"
        ),
        .executableTarget(
            name: "BareNIO",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "BareNIO"
        ),
        .executableTarget(
            name: "ClientProbe",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "ClientProbe"
        ),
        .executableTarget(
            name: "CompressionBench",
            dependencies: [.product(name: "CachetteCore", package: "Cachette")],
            path: "CompressionBench"
        ),
        .executableTarget(
            name: "TokenizerSpeed",
            dependencies: [.product(name: "CachetteCore", package: "Cachette")],
            path: "TokenizerSpeed"
        ),
    ],
    swiftLanguageModes: [.v6]
)

import Benchmark
import CachetteCore
import Foundation
import Logging
import NIOCore

/// A chat request of about `bytes` bytes, shaped like real traffic.
func chatRequest(bytes: Int) -> [UInt8] {
    var messages: [String] = [#"{"role":"system","content":"You are a helpful assistant. Answer briefly."}"#]
    var n = 0
    while messages.joined(separator: ",").utf8.count < bytes - 200 {
        n += 1
        messages.append(#"{"role":"user","content":"Question \#(n): how does a write-ahead log keep a database consistent after a crash?"}"#)
        messages.append(#"{"role":"assistant","content":"Answer \#(n): changes are appended to the log first and applied to the main file later."}"#)
    }
    let body = #"{"model":"gpt-4o","temperature":0.2,"max_tokens":256,"messages":[\#(messages.joined(separator: ","))],"stream":false}"#
    return Array(body.utf8)
}

func answer(bytes: Int) -> ByteBuffer {
    var text = #"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"message":{"role":"assistant","content":""#
    while text.utf8.count < bytes - 80 { text += "The quick brown fox jumps over the lazy dog. " }
    text += #""}}],"usage":{"prompt_tokens":42,"completion_tokens":180}}"#
    return ByteBuffer(string: text)
}

func temporaryStore(memoryBytes: Int) throws -> CacheStore {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cachette-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return try CacheStore(
        options: .init(path: dir.appendingPathComponent("bench.sqlite").path, maxBytes: 1 << 30, memoryBytes: memoryBytes),
        logger: Logger(label: "bench")
    )
}

/// State shared between a benchmark's setup hook and its closure; the runner
/// calls them one after the other, never at once.
final class StoreFixture: @unchecked Sendable {
    var store: CacheStore?
    let key = CacheKey(hashing: Array("k".utf8))
    var counter: UInt64 = 0
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    // MARK: Key computation: parse, canonicalise, hash

    let keyer = RequestKeyer()
    for size in [1024, 64 * 1024] {
        let body = chatRequest(bytes: size)
        Benchmark("key/\(size / 1024)KB") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try keyer.key(route: "/v1/chat/completions", scope: "Bearer sk-bench", body: body))
            }
        }
    }

    // MARK: Store

    let now = Date().timeIntervalSince1970
    func entry(_ body: ByteBuffer) -> NewEntry {
        NewEntry(
            route: "/v1/chat/completions", model: "gpt-4o",
            response: CachedResponse(
                status: 200, contentType: "application/json", body: body, createdAt: now, expiresAt: now + 86400, usage: .zero
            ))
    }
    let oneKB = answer(bytes: 1024)

    /// Built by each store benchmark's setup hook, so only the measured operation is timed.
    let fixture = StoreFixture()

    func storeWithOneAnswer(memoryBytes: Int) async throws {
        let store = try temporaryStore(memoryBytes: memoryBytes)
        store.store(fixture.key, entry(oneKB))
        try await store.flush()
        fixture.store = store
    }

    Benchmark(
        "store/get/memory-1KB", configuration: .init(scalingFactor: .kilo),
        closure: { benchmark in
            let store = fixture.store!, key = fixture.key
            for _ in benchmark.scaledIterations { blackHole(store.lookup(key, now: now)) }
        },
        setup: { try await storeWithOneAnswer(memoryBytes: 64 << 20) }, teardown: { fixture.store = nil }
    )

    Benchmark(
        "store/get/sqlite-1KB", configuration: .init(scalingFactor: .kilo),
        closure: { benchmark in
            // No memory tier: one indexed SQLite read and a zstd decompression per lookup.
            let store = fixture.store!, key = fixture.key
            for _ in benchmark.scaledIterations { blackHole(store.lookup(key, now: now)) }
        },
        setup: { try await storeWithOneAnswer(memoryBytes: 0) }, teardown: { fixture.store = nil }
    )

    Benchmark(
        "store/get/miss", configuration: .init(scalingFactor: .kilo),
        closure: { benchmark in
            // What every cache miss asks before its upstream call.
            let store = fixture.store!
            for i in benchmark.scaledIterations { blackHole(store.lookup(CacheKey(high: 7, low: UInt64(i)), now: now)) }
        },
        setup: { try await storeWithOneAnswer(memoryBytes: 64 << 20) }, teardown: { fixture.store = nil }
    )

    Benchmark(
        "store/put+flush-1KB",
        closure: { benchmark in
            let store = fixture.store!
            for _ in benchmark.scaledIterations {
                fixture.counter += 1
                store.store(CacheKey(high: 1, low: fixture.counter), entry(oneKB))
                try await store.flush()
            }
        },
        setup: { fixture.store = try temporaryStore(memoryBytes: 64 << 20) }, teardown: { fixture.store = nil }
    )

    Benchmark(
        "store/put-batch-100x1KB",
        closure: { benchmark in
            let store = fixture.store!
            for _ in benchmark.scaledIterations {
                for _ in 0..<100 {
                    fixture.counter += 1
                    store.store(CacheKey(high: 2, low: fixture.counter), entry(oneKB))
                }
                try await store.flush()
            }
        },
        setup: { fixture.store = try temporaryStore(memoryBytes: 64 << 20) }, teardown: { fixture.store = nil }
    )

    // MARK: zstd

    for size in [1024, 64 * 1024] {
        let input = answer(bytes: size)
        let compressed = try! Zstd.compress(input)
        Benchmark("zstd/compress-\(size / 1024)KB") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try Zstd.compress(input)) }
        }
        Benchmark("zstd/decompress-\(size / 1024)KB") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try Zstd.decompress(compressed)) }
        }
    }

    // Stream assembly must stay linear in the answer's size: the same 1 MB of content in
    // 1,000 or in 10,000 chunks should take about the same time per byte.
    for chunks in [1_000, 10_000] {
        let piece = String(repeating: "a", count: (1 << 20) / chunks)
        var text = ""
        for _ in 0..<chunks {
            text +=
                #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"\#(piece)"}}]}"#
                + "\n\n"
        }
        let stream = ByteBuffer(string: text + "data: [DONE]\n\n")
        Benchmark("stream-assembly/1MB-in-\(chunks)-chunks") { benchmark in
            for _ in benchmark.scaledIterations {
                var recorder = StreamRecorder(limit: 64 << 20)
                blackHole(recorder.feed(stream))
                blackHole(recorder.end())
            }
        }
    }
}

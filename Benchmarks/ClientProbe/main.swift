import AsyncHTTPClient
import NIOCore
import NIOPosix

/// The floor under a miss: one upstream round trip through AsyncHTTPClient as the
/// sidecar makes it, against the fake upstream, sequentially on one connection.
/// Usage: ClientProbe PORT [REQUESTS]
let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 18100
let count = Int(CommandLine.arguments.dropFirst(2).first ?? "") ?? 5000
let filler = String(repeating: "Please summarise the write-ahead logging section. ", count: 20)
/// A different ~1 KB chat request each time, as a miss sends.
func body(_ i: Int) -> String { #"{"model":"gpt-4o","messages":[{"role":"user","content":"\#(i) \#(filler)"}]}"# }
let url = "http://127.0.0.1:\(port)/v1/chat/completions"

func p50(_ samples: [Duration]) -> String {
    let sorted = samples.sorted()
    func us(_ d: Duration) -> Int { Int(d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000) }
    return "p50 \(us(sorted[sorted.count / 2])) us, p99 \(us(sorted[sorted.count * 99 / 100])) us"
}

// Tracing off, as in the sidecar: the floor is what the libraries must cost.
let client: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.tracing.tracer = nil
    return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
}()

/// p50 and p99 of `count` sequential calls of `call`.
func timed(_ call: (Int) async throws -> Void) async throws -> String {
    var samples: [Duration] = []
    for i in 0..<count {
        let start = ContinuousClock.now
        try await call(i)
        samples.append(ContinuousClock.now - start)
    }
    return p50(samples)
}

// 1. The async API, as UpstreamClient uses it.
let asyncAPI = try await timed { i in
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "content-type", value: "application/json")
    request.body = .bytes(ByteBuffer(string: body(i)))
    let response = try await client.execute(request, timeout: .seconds(30))
    _ = try await response.body.collect(upTo: 1 << 20)
}
print("async execute + collect:        \(asyncAPI)")

/// The request for the future API.
func futureRequest(_ i: Int) throws -> HTTPClient.Request {
    var request = try HTTPClient.Request(url: url, method: .POST)
    request.headers.add(name: "content-type", value: "application/json")
    request.body = .byteBuffer(ByteBuffer(string: body(i)))
    return request
}

// 2. The future API with a response accumulator, awaited once.
print("future execute (accumulated):   \(try await timed { _ = try await client.execute(request: try futureRequest($0)).get() })")

// 3. The same, started and finished on one event loop (.delegateAndChannel(on:)).
let loop = MultiThreadedEventLoopGroup.singleton.next()
let onOneLoop = try await timed { i in
    let request = try futureRequest(i)
    _ = try await client.execute(request: request, delegate: ResponseAccumulator(request: request), eventLoop: .delegateAndChannel(on: loop))
        .futureResult.get()
}
print("future execute on one loop:     \(onOneLoop)")
try await client.shutdown()

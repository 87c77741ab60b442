import AsyncHTTPClient
import Hummingbird
import NIOCore
import NIOPosix

/// The floor under a miss with this stack: a Hummingbird route that forwards the body to
/// the upstream through AsyncHTTPClient and relays its answer, with no cache, key,
/// compression or accounting. `make bench` measures the sidecar's miss against it, so
/// what the sidecar adds on top of its two libraries reads apart from what they cost.
/// Usage: BareProxy PORT UPSTREAM_PORT
let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 18101
let upstreamPort = Int(CommandLine.arguments.dropFirst(2).first ?? "") ?? 18100
// Tracing off, as in the sidecar: the floor is what the libraries must cost.
let client: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.tracing.tracer = nil
    return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
}()

let router = Router()
router.post("/v1/chat/completions") { request, _ -> Response in
    var outgoing = HTTPClientRequest(url: "http://127.0.0.1:\(upstreamPort)/v1/chat/completions")
    outgoing.method = .POST
    outgoing.headers.add(name: "content-type", value: "application/json")
    outgoing.body = .bytes(try await request.body.collect(upTo: 16 << 20))
    let response = try await client.execute(outgoing, timeout: .seconds(60))
    if response.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true {
        // Relayed as it arrives, the floor under a streamed miss's first byte.
        return Response(
            status: .init(code: Int(response.status.code)), headers: [.contentType: "text/event-stream"], body: .init(asyncSequence: response.body))
    }
    let body = try await response.body.collect(upTo: 16 << 20)
    return Response(status: .init(code: Int(response.status.code)), headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()

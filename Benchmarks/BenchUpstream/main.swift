import Hummingbird

/// A fast stand-in for the upstream API: every POST gets the same ~1 KB chat completion.
/// Used by `make bench` for the miss path and as the direct baseline.
let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 18100
let answer: String = {
    let filler = String(repeating: "Cachette answers repeated requests from its cache. ", count: 15)
    return """
        {"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o",\
        "choices":[{"index":0,"message":{"role":"assistant","content":"\(filler)"},"finish_reason":"stop"}],\
        "usage":{"prompt_tokens":42,"completion_tokens":180,"total_tokens":222}}
        """
}()
let router = Router()
for path in ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"] {
    router.post(RouterPath(path)) { request, _ -> Response in
        _ = try await request.body.collect(upTo: 16 << 20)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
    }
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()

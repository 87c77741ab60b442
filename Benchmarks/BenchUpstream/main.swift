import Hummingbird

/// A fast stand-in for the upstream API: every POST gets the same ~1 KB chat completion,
/// or, for `"stream":true`, a 200-chunk stream of it; `/v1/messages` the same answer as
/// an Anthropic message, for the translated miss; `/v1/responses` as a Responses answer. Used by `make bench` for the miss
/// path, as the direct baseline, and to fill the cache for the stream replay figures.
/// Usage: BenchUpstream PORT [PACE_US]. With PACE_US, a stream's events after the first
/// come that many microseconds apart, as a provider's tokens do, so a relay's first byte
/// is measured apart from the CPU the fake spends writing the rest of the stream at once.
let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 18100
let pace = Int(CommandLine.arguments.dropFirst(2).first ?? "").map { Duration.microseconds($0) }
let filler = String(repeating: "Cachette answers repeated requests from its cache. ", count: 15)
let answer = """
    {"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o",\
    "choices":[{"index":0,"message":{"role":"assistant","content":"\(filler)"},"finish_reason":"stop"}],\
    "usage":{"prompt_tokens":42,"completion_tokens":180,"total_tokens":222}}
    """

/// 200 events: the role chunk, 197 content pieces, the finish chunk, `[DONE]`; plus the
/// usage chunk when asked for, as OpenAI does.
func stream(includeUsage: Bool) -> [ByteBuffer] {
    func chunk(_ delta: String, finish: String = "null", usage: String = "") -> ByteBuffer {
        ByteBuffer(
            string:
                #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish)}]\#(usage)}"#
                + "\n\n")
    }
    var events = [chunk(#"{"role":"assistant","content":""}"#)]
    for i in 0..<197 { events.append(chunk(#"{"content":"token \#(i) "}"#)) }
    events.append(chunk("{}", finish: #""stop""#))
    if includeUsage {
        events.append(
            ByteBuffer(
                string:
                    #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":42,"completion_tokens":197,"total_tokens":239}}"#
                    + "\n\n"))
    }
    events.append(ByteBuffer(string: "data: [DONE]\n\n"))
    return events
}

// Built once: building 200 events per request would delay this fake's first byte.
let streams = (plain: stream(includeUsage: false), withUsage: stream(includeUsage: true))

let router = Router()
for path in ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"] {
    router.post(RouterPath(path)) { request, _ -> Response in
        let body = String(buffer: try await request.body.collect(upTo: 16 << 20))
        if body.contains(#""stream":true"#) {
            let events = body.contains(#""include_usage":true"#) ? streams.withUsage : streams.plain
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream"],
                body: .init { writer in
                    for (i, event) in events.enumerated() {
                        if let pace, i > 0 { try await Task.sleep(for: pace) }
                        try await writer.write(event)
                    }
                    try await writer.finish(nil)
                })
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
    }
}
let message = """
    {"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-6",\
    "content":[{"type":"text","text":"\(filler)"}],"stop_reason":"end_turn","stop_sequence":null,\
    "usage":{"input_tokens":42,"output_tokens":180}}
    """
router.post("/v1/messages") { request, _ -> Response in
    _ = try await request.body.collect(upTo: 16 << 20)
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: message)))
}
let response = """
    {"id":"resp_bench","object":"response","created_at":1700000000,"status":"completed","model":"gpt-4o",\
    "output":[{"id":"msg_bench","type":"message","status":"completed","role":"assistant",\
    "content":[{"type":"output_text","text":"\(filler)","annotations":[]}]}],\
    "usage":{"input_tokens":42,"input_tokens_details":{"cached_tokens":0},"output_tokens":180,\
    "output_tokens_details":{"reasoning_tokens":0},"total_tokens":222}}
    """
router.post("/v1/responses") { request, _ -> Response in
    _ = try await request.body.collect(upTo: 16 << 20)
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: response)))
}
// The ceiling for `make bench`: collect the body, answer 1 KB, nothing else.
router.post("/bare") { request, _ -> Response in
    _ = try await request.body.collect(upTo: 16 << 20)
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()

import Foundation
import CachetteCore
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL
import Synchronization

/// An OpenAI-like upstream running in-process on a loopback port. It counts the
/// calls it receives and answers as the test tells it to.
final class FakeUpstream: Sendable {
    struct Reply: Sendable {
        var status = 200
        var delay: Duration = .zero
        /// nil: a chat completion whose content names the call number, so fresh and cached answers differ.
        var body: String?
        /// What a `stream: true` request gets; nil: three events, the second held until `releaseStreams()`.
        var stream: [Step]?
        /// Raw bytes in place of `body`, for answers no String can hold (invalid UTF-8).
        var bytes: [UInt8]?
        /// The Content-Type of a whole answer.
        var contentType = "application/json"
        /// Further headers on every answer (an unrequested Content-Encoding, CORS grants).
        var headers: [String: String] = [:]
        /// A whole answer (and a passthrough one) falls silent this long after its first
        /// half, before sending the rest.
        var pauseMidBody: Duration = .zero
    }

    /// One step of a scripted stream.
    enum Step: Sendable {
        /// `data: <json>` as an event.
        case data(String)
        /// `event: <name>` and `data: <json>`, as Anthropic sends them.
        case event(String, String)
        /// Bytes written as they are (comments, odd framing, several events at once).
        case raw(String)
        /// The usage chunk, sent only if the request asked for `include_usage` (as OpenAI does).
        case usage(prompt: Int, completion: Int)
        case done
        /// Hold until `releaseStreams()`.
        case wait
        case sleep(Duration)
        /// Drop the connection mid-body.
        case fail
    }

    private let state = Mutex(State())
    /// What `GET /v1/models` answers.
    let modelList: String
    /// Serves HTTPS with this configuration, when set.
    let tls: TLSConfiguration?

    /// Bills `/v1/messages` as Anthropic's prompt cache does, when set.
    let billing: PromptCacheBilling?

    init(
        modelList: String = #"{"object":"list","data":[{"id":"gpt-4o","object":"model"}]}"#, tls: TLSConfiguration? = nil,
        billing: PromptCacheBilling? = nil
    ) {
        self.modelList = modelList
        self.tls = tls
        self.billing = billing
    }

    /// Streams pause after their first event until `releaseStreams()`.
    private let gate = StreamGate()

    struct State {
        var calls = 0
        var callsByPath: [String: Int] = [:]
        var reply = Reply()
        var lastHeaders = HTTPFields()
        var lastBody: [UInt8] = []
        /// Every request's query and headers, in arrival order.
        var seen: [(path: String, query: String, authority: String, headers: HTTPFields)] = []
        /// Streams whose client (the sidecar) went away before the end.
        var abandonedStreams = 0
        var finishedStreams = 0
    }

    var calls: Int { state.withLock { $0.calls } }
    func calls(to path: String) -> Int { state.withLock { $0.callsByPath[path] ?? 0 } }
    var lastHeaders: HTTPFields { state.withLock { $0.lastHeaders } }
    var lastBody: String { state.withLock { String(decoding: $0.lastBody, as: UTF8.self) } }
    var seen: [(path: String, query: String, authority: String, headers: HTTPFields)] { state.withLock { $0.seen } }
    var abandonedStreams: Int { state.withLock { $0.abandonedStreams } }
    var finishedStreams: Int { state.withLock { $0.finishedStreams } }

    func reply(_ reply: Reply) { state.withLock { $0.reply = reply } }
    func releaseStreams() { gate.open() }

    static func completion(call: Int) -> String {
        """
        {"id":"chatcmpl-\(call)","object":"chat.completion","created":1700000000,"model":"gpt-4o",\
        "choices":[{"index":0,"message":{"role":"assistant","content":"answer number \(call)"},"finish_reason":"stop"}],\
        "usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}
        """
    }

    static func embedding(call: Int) -> String {
        #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.\#(call),0.5]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":2,"total_tokens":2}}"#
    }

    /// An Anthropic Messages answer, with prompt-cache usage.
    /// A `/v1/messages` answer whose usage is what `billing` charges for the request, or
    /// its 400 (a whole answer, or the same usage in a stream's `message_start`).
    private func billed(_ body: ByteBuffer, request: Request, call: Int, by billing: PromptCacheBilling) -> Response {
        let credential = request.headers[HTTPField.Name("x-api-key")!] ?? request.headers[.authorization] ?? ""
        guard let parsed = try? JSONValue.parse(body.readableBytesView) else {
            return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "not JSON")))
        }
        switch billing.bill(parsed, credential: credential) {
        case .refused(let why):
            let error = JSONValue.object([
                .init("type", .string("error")),
                .init("error", .object([.init("type", .string("invalid_request_error")), .init("message", .string(why))])),
            ])
            return Response(
                status: .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: error.serialized())))
        case .usage(let usage):
            let billed =
                #""usage":{"input_tokens":\#(usage.input),"cache_creation_input_tokens":\#(usage.cacheCreation),"#
                + #""cache_creation":{"ephemeral_5m_input_tokens":\#(usage.cacheCreation - usage.cacheCreation1h),"#
                + #""ephemeral_1h_input_tokens":\#(usage.cacheCreation1h)},"#
                + #""cache_read_input_tokens":\#(usage.cacheRead),"output_tokens":"#
            if parsed["stream"] == .bool(true) {
                let events = Self.anthropicStream(call: call).replacingOccurrences(of: #""usage":{"input_tokens":10,"output_tokens":"#, with: billed)
                return scripted([.raw(events)], includeUsage: false, status: 200)
            }
            let answer = Self.anthropicMessage(call: call).replacingOccurrences(
                of: #""usage":{"input_tokens":10,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":"#, with: billed)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
        }
    }

    static func anthropicMessage(call: Int) -> String {
        """
        {"id":"msg_\(call)","type":"message","role":"assistant","model":"claude-sonnet-4-6",\
        "content":[{"type":"text","text":"answer number \(call)"}],"stop_reason":"end_turn","stop_sequence":null,\
        "usage":{"input_tokens":10,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":7}}
        """
    }

    static func anthropicStream(call: Int) -> String {
        anthropicEvents(call: call).map { "event: \($0.0)\ndata: \($0.1)\n\n" }.joined()
    }

    /// A text answer's events, `message_start` to `message_stop`.
    static func anthropicEvents(call: Int) -> [(String, String)] {
        [
            (
                "message_start",
                #"{"type":"message_start","message":{"id":"msg_\#(call)","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-6","usage":{"input_tokens":10,"output_tokens":1}}}"#
            ),
            ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
            ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"answer number \#(call)"}}"#),
            ("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
            ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}"#),
            ("message_stop", #"{"type":"message_stop"}"#),
        ]
    }

    /// A tool-using answer's events: text, then a tool_use block whose input arrives in pieces.
    static func anthropicToolStream(hold: Bool = false) -> [Step] {
        var steps: [Step] = [
            .event(
                "message_start",
                #"{"type":"message_start","message":{"id":"msg_t","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-6","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":30,"cache_read_input_tokens":200,"output_tokens":1}}}"#
            ),
            .event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
        ]
        if hold { steps.append(.wait) }
        steps += [
            .event("ping", #"{"type":"ping"}"#),
            .event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check ✓"}}"#),
            .event("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
            .event(
                "content_block_start",
                #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#),
            .event(
                "content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": "}}"#),
            .event(
                "content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}"#),
            .event("content_block_stop", #"{"type":"content_block_stop","index":1}"#),
            .event(
                "message_delta", #"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":12}}"#),
            .event("message_stop", #"{"type":"message_stop"}"#),
        ]
        return steps
    }

    var application: some ApplicationProtocol {
        let router = Router()
        for path in ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"] {
            router.post(RouterPath(path)) { request, _ in try await self.answer(request, path: path) }
        }
        router.post("/v1/messages") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 << 20)
            self.record(request, path: "/v1/messages", body: Array(body.readableBytesView))
            let (call, reply) = self.state.withLock { ($0.calls, $0.reply) }
            if reply.delay > .zero { try await Task.sleep(for: reply.delay) }
            if let billing = self.billing { return self.billed(body, request: request, call: call, by: billing) }
            if String(buffer: body).contains(#""stream":true"#), reply.status == 200 || reply.stream != nil {
                return self.scripted(reply.stream ?? [.raw(Self.anthropicStream(call: call))], includeUsage: false, status: reply.status)
            }
            return Response(
                status: .init(code: reply.status), headers: Self.headers(reply),
                body: .init(
                    byteBuffer: reply.bytes.map { ByteBuffer(bytes: $0) } ?? ByteBuffer(string: reply.body ?? Self.anthropicMessage(call: call))))
        }
        router.post("/v1/messages/count_tokens") { request, _ -> Response in
            self.record(request, path: "/v1/messages/count_tokens", body: [])
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"input_tokens":42}"#)))
        }
        for path in ["/v1/files", "/v1/messages/batches"] {
            router.post(RouterPath(path)) { request, _ -> Response in
                let body = try await request.body.collect(upTo: 64 << 20)
                self.record(request, path: path, body: Array(body.readableBytesView))
                let pause = self.state.withLock { $0.reply.pauseMidBody }
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: Self.body(ByteBuffer(string: #"{"id":"file-1","object":"file"}"#), pause: pause))
            }
        }
        router.on("/v1/responses/**", method: .get) { request, _ in try await self.responseAbout(request) }
        router.on("/v1/responses/**", method: .delete) { request, _ in try await self.responseAbout(request) }
        router.post("/v1/responses/**") { request, _ in try await self.responseAbout(request) }
        router.get("/v1/models/**") { request, _ -> Response in
            self.record(request, path: request.uri.path, body: [])
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"id":"\#(request.uri.path.dropFirst(11))","object":"model"}"#)))
        }
        router.get("/v1/models") { request, _ -> Response in
            self.record(request, path: "/v1/models", body: [])
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: self.modelList)))
        }
        // A test's own TLS configuration: one .tls refuses is a bug in the test.
        let server: HTTPServerBuilder = if let tls { try! .tls(tlsConfiguration: tls) } else { .http1() }
        return Application(router: router, server: server, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    private func record(_ request: Request, path: String, body: [UInt8]) {
        state.withLock { s in
            s.calls += 1
            s.callsByPath[path, default: 0] += 1
            s.lastHeaders = request.headers
            s.lastBody = body
            s.seen.append((path, request.uri.query ?? "", request.head.authority ?? "", request.headers))
        }
    }

    private func answer(_ request: Request, path: String) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 << 20)
        let bytes = Array(body.readableBytesView)
        record(request, path: path, body: bytes)
        let (call, reply) = state.withLock { ($0.calls, $0.reply) }
        if reply.delay > .zero { try await Task.sleep(for: reply.delay) }
        let text = String(decoding: bytes, as: UTF8.self)
        // A stream unless the test scripted an error answer instead.
        if text.contains(#""stream":true"#), reply.status == 200 || reply.stream != nil {
            if path == "/v1/responses", reply.stream == nil { return scripted(Self.responseStream(call: call), includeUsage: false, status: 200) }
            guard let steps = reply.stream else { return streamResponse(call: call) }
            return scripted(steps, includeUsage: text.contains(#""include_usage":true"#), status: reply.status)
        }
        let answer =
            reply.body
            ?? (path == "/v1/embeddings"
                ? Self.embedding(call: call) : path == "/v1/responses" ? Self.response(call: call) : Self.completion(call: call))
        var headers = Self.headers(reply)
        headers[HTTPField.Name("x-upstream-call")!] = String(call)
        return Response(
            status: .init(code: reply.status), headers: headers,
            body: Self.body(reply.bytes.map { ByteBuffer(bytes: $0) } ?? ByteBuffer(string: answer), pause: reply.pauseMidBody))
    }

    /// `bytes`, or its halves with `pause` of silence between them.
    static func body(_ bytes: ByteBuffer, pause: Duration) -> ResponseBody {
        guard pause > .zero else { return ResponseBody(byteBuffer: bytes) }
        return ResponseBody(contentLength: bytes.readableBytes) { writer in
            var rest = bytes
            let half = rest.readSlice(length: bytes.readableBytes / 2) ?? ByteBuffer()
            try await writer.write(half)
            try await Task.sleep(for: pause)
            try await writer.write(rest)
            try await writer.finish(nil)
        }
    }

    static func headers(_ reply: Reply) -> HTTPFields {
        var headers: HTTPFields = [.contentType: reply.contentType]
        for (name, value) in reply.headers { headers[HTTPField.Name(name)!] = value }
        return headers
    }

    struct Dropped: Error {}

    private func scripted(_ steps: [Step], includeUsage: Bool, status: Int) -> Response {
        let gate = self.gate
        let body = ResponseBody { [self] writer in
            do {
                for step in steps {
                    switch step {
                    case .data(let json): try await writer.write(ByteBuffer(string: "data: \(json)\n\n"))
                    case .event(let name, let json): try await writer.write(ByteBuffer(string: "event: \(name)\ndata: \(json)\n\n"))
                    case .raw(let text): try await writer.write(ByteBuffer(string: text))
                    case .usage(let prompt, let completion) where includeUsage:
                        try await writer.write(ByteBuffer(string: "data: \(Self.usageChunk(prompt: prompt, completion: completion))\n\n"))
                    case .usage: break
                    case .done: try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    case .wait: await gate.wait()
                    case .sleep(let duration): try await Task.sleep(for: duration)
                    case .fail: throw Dropped()
                    }
                }
                try await writer.finish(nil)
                state.withLock { $0.finishedStreams += 1 }
            } catch {
                if !(error is Dropped) { state.withLock { $0.abandonedStreams += 1 } }
                throw error
            }
        }
        var headers: HTTPFields = [.contentType: "text/event-stream"]
        for (name, value) in state.withLock({ $0.reply.headers }) { headers[HTTPField.Name(name)!] = value }
        return Response(status: .init(code: status), headers: headers, body: body)
    }

    // MARK: Responses

    /// A completed Responses answer: a message whose text names the call, with usage
    /// as OpenAI reports it (cached and reasoning tokens in their details).
    static func response(call: Int, status: String = "completed") -> String {
        """
        {"id":"resp_\(call)","object":"response","created_at":1700000000,"status":"\(status)","model":"gpt-4o",\
        "output":[{"id":"msg_\(call)","type":"message","status":"completed","role":"assistant",\
        "content":[{"type":"output_text","text":"answer number \(call)","annotations":[],"logprobs":[]}]}],\
        "usage":{"input_tokens":40,"input_tokens_details":{"cached_tokens":30},"output_tokens":9,\
        "output_tokens_details":{"reasoning_tokens":4},"total_tokens":49}}
        """
    }

    /// The events OpenAI streams for `response(call:)`, in the same order and shapes.
    static func responseStream(call: Int, end: String = "response.completed") -> [Step] {
        let whole = response(call: call)
        let opening =
            #"{"id":"resp_\#(call)","object":"response","created_at":1700000000,"status":"in_progress","model":"gpt-4o","output":[],"usage":null}"#
        let item = #"{"id":"msg_\#(call)","type":"message","status":"in_progress","role":"assistant","content":[]}"#
        let part = #"{"type":"output_text","text":"","annotations":[],"logprobs":[]}"#
        var final = whole
        if end != "response.completed" {
            final = final.replacingOccurrences(of: #""status":"completed","model""#, with: #""status":"failed","model""#)
        }
        let steps: [(String, String)] = [
            ("response.created", #""response":\#(opening)"#),
            ("response.in_progress", #""response":\#(opening)"#),
            ("response.output_item.added", #""output_index":0,"item":\#(item)"#),
            ("response.content_part.added", #""item_id":"msg_\#(call)","output_index":0,"content_index":0,"part":\#(part)"#),
            ("response.output_text.delta", #""item_id":"msg_\#(call)","output_index":0,"content_index":0,"delta":"answer ","logprobs":[]"#),
            ("response.output_text.delta", #""item_id":"msg_\#(call)","output_index":0,"content_index":0,"delta":"number \#(call)","logprobs":[]"#),
            (
                "response.output_text.done",
                #""item_id":"msg_\#(call)","output_index":0,"content_index":0,"text":"answer number \#(call)","logprobs":[]"#
            ),
            (end, #""response":\#(final)"#),
        ]
        return steps.enumerated().map { n, step in .event(step.0, #"{"type":"\#(step.0)","sequence_number":\#(n),\#(step.1)}"#) }
    }

    /// `GET`/`DELETE /v1/responses/{id}` and its sub-paths: answers with the path it was asked.
    private func responseAbout(_ request: Request) async throws -> Response {
        _ = try await request.body.collect(upTo: 1 << 20)
        record(request, path: request.uri.path, body: [])
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"object":"response","asked":"\#(request.method.rawValue) \#(request.uri.path)"}"#)))
    }

    // MARK: Stream scripts

    static func chunk(_ delta: String, finish: String? = nil, object: String = "chat.completion.chunk") -> String {
        let choice =
            object == "text_completion"
            ? #"{"index":0,"text":\#(delta),"logprobs":null,"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}"#
            : #"{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}"#
        return #"{"id":"chatcmpl-s1","object":"\#(object)","created":1700000000,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[\#(choice)]}"#
    }

    static func usageChunk(prompt: Int, completion: Int) -> String {
        #"{"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion)}}"#
    }

    /// A chat stream the way OpenAI sends one: role, content in pieces, a tool call
    /// whose arguments arrive in pieces, the finish chunk, usage if asked, `[DONE]`.
    static func chatStream(pieces: [String] = ["Hel", "lo, ", "wor", "ld ✓"], toolCall: Bool = true) -> [Step] {
        var steps: [Step] = [.data(chunk(#"{"role":"assistant","content":"","refusal":null}"#))]
        steps += pieces.map { .data(chunk(#"{"content":"\#($0)"}"#)) }
        if toolCall {
            steps.append(
                .data(chunk(#"{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}"#)))
            for part in [#"{\"ci"#, #"ty\": \"Par"#, #"is\"}"#] {
                steps.append(.data(chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"\#(part)"}}]}"#)))
            }
        }
        steps.append(.data(chunk("{}", finish: toolCall ? "tool_calls" : "stop")))
        steps.append(.usage(prompt: 21, completion: 9))
        steps.append(.done)
        return steps
    }

    /// Three SSE events; the second waits for the test to release it.
    private func streamResponse(call: Int) -> Response {
        let gate = self.gate
        let body = ResponseBody { writer in
            func event(_ content: String) -> ByteBuffer {
                ByteBuffer(
                    string:
                        "data: {\"id\":\"s\(call)\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\(content)\"}}]}\n\n"
                )
            }
            try await writer.write(event("first"))
            await gate.wait()
            try await writer.write(event("second"))
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: body)
    }
}

/// A one-way gate: waiters suspend until it opens; once open it stays open.
final class StreamGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// An OpenAI-like upstream running in-process on a loopback port. It counts the
/// calls it receives and answers as the test tells it to.
final class FakeUpstream: Sendable {
    struct Reply: Sendable {
        var status = 200
        var delay: Duration = .zero
        /// nil: a chat completion whose content names the call number, so fresh and cached answers differ.
        var body: String?
    }

    private let state = Mutex(State())
    /// Streams pause after their first event until `releaseStreams()`.
    private let gate = StreamGate()

    struct State {
        var calls = 0
        var callsByPath: [String: Int] = [:]
        var reply = Reply()
        var lastHeaders = HTTPFields()
        var lastBody: [UInt8] = []
    }

    var calls: Int { state.withLock { $0.calls } }
    func calls(to path: String) -> Int { state.withLock { $0.callsByPath[path] ?? 0 } }
    var lastHeaders: HTTPFields { state.withLock { $0.lastHeaders } }
    var lastBody: String { state.withLock { String(decoding: $0.lastBody, as: UTF8.self) } }

    func reply(_ reply: Reply) { state.withLock { $0.reply = reply } }
    func releaseStreams() { gate.open() }

    static func completion(call: Int) -> String {
        """
        {"id":"chatcmpl-\(call)","object":"chat.completion","created":1700000000,"model":"gpt-4o",\
        "choices":[{"index":0,"message":{"role":"assistant","content":"answer number \(call)"},"finish_reason":"stop"}],\
        "usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}
        """
    }

    var application: some ApplicationProtocol {
        let router = Router()
        for path in ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"] {
            router.post(RouterPath(path)) { request, _ in try await self.answer(request, path: path) }
        }
        router.post("/v1/files") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 << 20)
            self.record(request, path: "/v1/files", body: Array(body.readableBytesView))
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"id":"file-1","object":"file"}"#)))
        }
        router.get("/v1/models") { request, _ -> Response in
            self.record(request, path: "/v1/models", body: [])
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"object":"list","data":[{"id":"gpt-4o","object":"model"}]}"#)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    private func record(_ request: Request, path: String, body: [UInt8]) {
        state.withLock { s in
            s.calls += 1
            s.callsByPath[path, default: 0] += 1
            s.lastHeaders = request.headers
            s.lastBody = body
        }
    }

    private func answer(_ request: Request, path: String) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 << 20)
        let bytes = Array(body.readableBytesView)
        record(request, path: path, body: bytes)
        let (call, reply) = state.withLock { ($0.calls, $0.reply) }
        if reply.delay > .zero { try await Task.sleep(for: reply.delay) }
        if String(decoding: bytes, as: UTF8.self).contains(#""stream":true"#) {
            return streamResponse(call: call)
        }
        let text = reply.body ?? Self.completion(call: call)
        return Response(
            status: .init(code: reply.status),
            headers: [.contentType: "application/json", HTTPField.Name("x-upstream-call")!: String(call)],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    /// Three SSE events; the second waits for the test to release it.
    private func streamResponse(call: Int) -> Response {
        let gate = self.gate
        let body = ResponseBody { writer in
            func event(_ content: String) -> ByteBuffer {
                ByteBuffer(string: "data: {\"id\":\"s\(call)\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\(content)\"}}]}\n\n")
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

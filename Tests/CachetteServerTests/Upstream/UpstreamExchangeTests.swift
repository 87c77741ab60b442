import AsyncHTTPClient
import CachetteCore
@testable import CachetteServer
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

/// How a cached request reaches its upstream, without a socket: the URL, the body sent,
/// and answers put back into the client's format.
@Suite("The upstream exchange")
struct UpstreamExchangeTests {
    static let openai = CachetteConfig.Upstream(name: "default", baseURL: "https://api.openai.example/v1/")
    static let anthropic = CachetteConfig.Upstream(
        name: "anthropic", baseURL: "https://api.anthropic.example/v1", format: .anthropic, models: ["claude-*"])
    static let router = UpstreamRouter([anthropic, openai])
    static let client = try! UpstreamClient(config: .init())

    static func request(_ path: String) -> Request {
        Request(
            head: HTTPRequest(method: .post, scheme: "http", authority: "127.0.0.1", path: path, headerFields: [.authorization: "Bearer sk-a"]),
            body: .init(buffer: ByteBuffer())
        )
    }

    @Test("a stream to an OpenAI upstream asks for usage, at the base URL with the path and query")
    func openAIStream() async throws {
        let exchange = try Self.router.exchange(for: "gpt-4o", route: .chatCompletions)
        #expect(exchange.translation == nil && exchange.upstream.name == "default")
        let body = ByteBuffer(string: #"{"model":"gpt-4o","messages":[],"stream":true}"#)
        var outbound = OutboundBody(body)
        let outgoing = try exchange.outgoing(Self.request("/v1/chat/completions?x=1"), body: &outbound, askUsage: true, client: Self.client)
        #expect(outgoing.url == "https://api.openai.example/v1/chat/completions?x=1")
        let sent = try JSONValue.parse(try #require(try await Self.bytes(outgoing)).readableBytesView)
        #expect(sent["stream_options"]?["include_usage"] == .bool(true))
        // A whole answer from its own format passes as it came.
        let answer = UpstreamAnswer(status: .ok, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"x":1}"#))
        #expect(try exchange.answer(answer).body == answer.body)
    }

    @Test("a chat request for a Claude model goes to /v1/messages as a Messages request")
    func translatedRequest() async throws {
        let exchange = try Self.router.exchange(for: "claude-sonnet-4-6", route: .chatCompletions)
        #expect(
            exchange.translation?.client == .openai && exchange.translation?.upstream == .anthropic && exchange.translation?.path == "/v1/messages")
        let body = ByteBuffer(
            string: #"{"model":"claude-sonnet-4-6","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}"#)
        var outbound = OutboundBody(body)
        let outgoing = try exchange.outgoing(Self.request("/v1/chat/completions"), body: &outbound, askUsage: false, client: Self.client)
        #expect(outgoing.url == "https://api.anthropic.example/v1/messages")
        let sent = try JSONValue.parse(try #require(try await Self.bytes(outgoing)).readableBytesView)
        // The system message moves to Messages' own `system`.
        let system = try #require(sent["system"])
        #expect(String(decoding: system.serialized(), as: UTF8.self).contains("Be brief."))
        #expect(sent["messages"]?.arrayValue?.count == 1)
        #expect(sent["max_tokens"]?.intValue == MessagesRequestTranslator.defaultMaxTokens)
        #expect(outgoing.headers["anthropic-version"].isEmpty == false)
    }

    @Test("only chat completions translate: embeddings or text completions for a Claude model are refused")
    func untranslatable() {
        for route in [CachedRoute.embeddings, .completions] {
            #expect(throws: APIError.self) { try Self.router.exchange(for: "claude-sonnet-4-6", route: route) }
        }
        #expect(throws: APIError.self) { try Self.router.exchange(for: "gpt-4o", route: .messages) }
    }

    @Test("a translated answer: a message becomes a chat completion, an error OpenAI's error, anything else a 502")
    func translatedAnswers() throws {
        let exchange = try Self.router.exchange(for: "claude-sonnet-4-6", route: .chatCompletions)
        let message =
            #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#
        let completion = try exchange.answer(UpstreamAnswer(status: .ok, headers: [:], body: ByteBuffer(string: message)))
        let parsed = try JSONValue.parse(completion.body.readableBytesView)
        #expect(parsed["object"]?.stringValue == "chat.completion")
        #expect(parsed["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == "Hello")
        #expect(parsed["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue == "stop")

        let error = #"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#
        let translatedError = try exchange.answer(UpstreamAnswer(status: .tooManyRequests, headers: [:], body: ByteBuffer(string: error)))
        #expect(try JSONValue.parse(translatedError.body.readableBytesView)["error"]?["message"]?.stringValue == "slow down")

        let notAMessage = UpstreamAnswer(status: .ok, headers: [:], body: ByteBuffer(string: #"{"choices":[]}"#))
        #expect { try exchange.answer(notAMessage) } throws: { ($0 as? APIError)?.code == "upstream_invalid_response" }
    }

    /// The bytes of a request body made from one buffer.
    static func bytes(_ request: HTTPClientRequest) async throws -> ByteBuffer? {
        guard let body = request.body else { return nil }
        var collected = ByteBuffer()
        for try await part in body { collected.writeImmutableBuffer(part) }
        return collected
    }
}

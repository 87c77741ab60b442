import AsyncHTTPClient
import CachetteCore
import Foundation
import NIOCore
import Testing

/// What a client got from a streamed answer.
struct ReceivedStream: Sendable {
    var status: Int
    var xCache: String?
    var contentType: String?
    var raw: [UInt8]

    var text: String { String(decoding: raw, as: UTF8.self) }

    /// The events, keep-alive comments aside.
    var events: [SSEEvent] {
        var parser = SSEParser()
        return parser.feed(raw).filter { !$0.isComment }
    }

    var chunks: [JSONValue] { events.filter { !$0.isDone }.compactMap { try? JSONValue.parse($0.data) } }
    var endsWithDone: Bool { events.last?.isDone == true }
    var usageChunks: [JSONValue] { chunks.filter { $0["choices"]?.arrayValue?.isEmpty == true && $0["usage"] != nil } }
    var lastError: JSONValue? { chunks.last?["error"] }

    /// The answer as the OpenAI SDK would assemble it from the chunks.
    var accumulated: JSONValue {
        var accumulator = OpenAIStreamAccumulator()
        for chunk in chunks where chunk["error"] == nil { try? accumulator.add(chunk) }
        return accumulator.result
    }
}

/// What a client keeps of an answer: per choice its content (or text), tool calls
/// (id, type, function; a streamed call's `index` is bookkeeping) and finish reason.
func essentials(_ answer: JSONValue) -> [JSONValue] {
    (answer["choices"]?.arrayValue ?? []).map { choice in
        let message = choice["message"]
        let calls = message?["tool_calls"]?.arrayValue?.map { call -> JSONValue in
            .object(["id": call["id"] ?? .null, "type": call["type"] ?? .null, "function": call["function"] ?? .null])
        }
        return .object([
            "content": message?["content"] ?? choice["text"] ?? .null,
            "tool_calls": calls.map(JSONValue.array) ?? .null,
            "finish_reason": choice["finish_reason"] ?? .null,
        ])
    }
}

extension Harness {
    static func streamBody(_ extra: String = "", prompt: String = "Say hello") -> String {
        #"{"model":"gpt-4o","messages":[{"role":"user","content":"\#(prompt)"}],"stream":true\#(extra)}"#
    }

    /// Sends a request and reads the whole streamed answer. With `releasingAfter`, the
    /// upstream's held streams are released once the client has received that text.
    func stream(
        _ body: String = Harness.streamBody(), path: String = "/v1/chat/completions", headers: [(String, String)] = [],
        releasingAfter marker: String? = nil
    ) async throws -> ReceivedStream {
        var request = clientRequest(path, .bytes(ByteBuffer(string: body)))
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        var raw: [UInt8] = []
        var held = marker.map { Array($0.utf8) }
        for try await part in response.body {
            raw += part.readableBytesView
            if let wanted = held, raw.firstRange(of: wanted) != nil {
                upstream.releaseStreams()
                held = nil
            }
        }
        expectNoLibraryText(String(decoding: raw, as: UTF8.self))
        return ReceivedStream(
            status: Int(response.status.code), xCache: response.headers.first(name: "x-cache"),
            contentType: response.headers.first(name: "content-type"), raw: raw
        )
    }

    func statsValue(_ path: String...) async throws -> Int? {
        var value: JSONValue? = try await json("/stats")
        for key in path { value = value?[key] }
        return value?.intValue
    }
}

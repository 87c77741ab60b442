import NIOCore

/// OpenAI's Responses streams: typed events (`event: response.created`, …, each with a
/// `sequence_number`) that end with `response.completed`, whose `response` is the
/// whole answer. `response.failed`, `response.incomplete` and `error` end a stream that
/// is relayed but never stored.
package struct ResponsesDialect: StreamDialect {
    private var completed: JSONValue?

    package init() {}

    public mutating func read(_ event: SSEEvent, assembling: Bool) -> StreamReading {
        let data = try? JSONValue.parse(Array(event.data.utf8))
        let type = data?["type"]?.stringValue ?? event.name
        switch type {
        case "error":
            // Responses puts the message at the top level; some servers nest it in `error`.
            let error = data?["error"].flatMap { $0.members != nil ? $0 : nil } ?? data
            return .failure(error)
        case "response.failed":
            let message = data?["response"]?["error"]?["message"]?.stringValue ?? "the response failed"
            return .failure(reason: "The upstream response failed: \(message)", inShape: data != nil)
        case "response.incomplete":
            let reason = data?["response"]?["incomplete_details"]?["reason"]?.stringValue ?? "no reason given"
            return .failure(reason: "The upstream response is incomplete (\(reason)).", inShape: data != nil)
        default:
            break
        }
        guard let data else { return type == "response.completed" ? .end(keepable: false) : .unreadable }
        let response = data["response"]
        let keepable = StreamReading.hasWellFormedUsage(data)
        let usage = response?["usage"].flatMap(TokenUsage.init(usage:))
        guard type == "response.completed" else { return .content(usage: usage, isUsageOnly: false, keepable: keepable) }
        if assembling && keepable { completed = response }
        return .end(keepable: keepable, usage: usage)
    }

    public var answer: JSONValue? {
        guard let completed, AnswerShape.response.problem(in: completed) == nil else { return nil }
        return completed
    }

    package static let missingEnd = "The upstream stream ended before response.completed."

    package static func events(answering answer: JSONValue, includeUsage: Bool) -> [ByteBuffer]? {
        answer["object"]?.stringValue == "response" ? ResponsesEventSynthesizer.events(from: answer) : nil
    }

    /// Responses' `error` event, with OpenAI's `error` object beside its fields, so the
    /// openai SDKs raise it as an error rather than pass it on as an event.
    package static func errorEvent(message: String, type: String, code: String, param: String?) -> ByteBuffer {
        let param = param.map(JSONValue.string) ?? .null
        let body: JSONValue = .object([
            "type": .string("error"), "code": .string(code), "message": .string(message), "param": param,
            "error": .object(["type": .string(type), "code": .string(code), "message": .string(message), "param": param]),
        ])
        var bytes: [UInt8] = []
        SSEWriter.append(body, name: "error", to: &bytes)
        return ByteBuffer(bytes: bytes)
    }
}

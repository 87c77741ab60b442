import NIOCore

/// Anthropic's streams: named events from `message_start` to `message_stop`, usage
/// inside them, `ping` keep-alives, and an `error` event on failure.
package struct AnthropicDialect: StreamDialect {
    private var accumulator = AnthropicStreamAccumulator()

    package init() {}

    public mutating func read(_ event: SSEEvent, assembling: Bool) -> StreamReading {
        let data = try? JSONValue.parse(Array(event.data.utf8))
        let type = data?["type"]?.stringValue ?? event.name
        switch type {
        case "error": return .failure(data?["error"])
        case "ping": return .keepAlive
        default: break
        }
        let isEnd = type == "message_stop"
        guard let data else { return isEnd ? .end(keepable: false) : .unreadable }
        var keepable = StreamReading.hasWellFormedUsage(data)
        do {
            try accumulator.add(data)
        } catch {
            keepable = false
        }
        if isEnd { return .end(keepable: keepable) }
        // The running total so far: message_start's, updated by message_delta.
        return .content(usage: accumulator.usage.flatMap(TokenUsage.init(usage:)), isUsageOnly: false, keepable: keepable)
    }

    public var answer: JSONValue? {
        guard let message = accumulator.result, AnswerShape.message.problem(in: message) == nil else { return nil }
        return message
    }

    package static let missingEnd = "The upstream stream ended before message_stop."

    package static func events(answering answer: JSONValue, includeUsage: Bool) -> [ByteBuffer]? {
        answer["type"]?.stringValue == "message" ? AnthropicEventSynthesizer.events(from: answer) : nil
    }

    /// Anthropic's SDKs know `invalid_request_error`; any other failure is theirs `api_error`.
    package static func errorEvent(message: String, type: String, code: String, param: String?) -> ByteBuffer {
        AnthropicEventSynthesizer.error(type: type == "invalid_request_error" ? type : "api_error", message: message)
    }
}

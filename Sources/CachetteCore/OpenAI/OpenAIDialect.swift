import NIOCore

/// OpenAI's streams: `data:` chunks, a usage chunk (`choices: []`) when asked for, and
/// `data: [DONE]`. An error arrives as a chunk with an `error` member.
package struct OpenAIDialect: StreamDialect {
    private var accumulator = OpenAIStreamAccumulator()

    package init() {}

    public mutating func read(_ event: SSEEvent, assembling: Bool) -> StreamReading {
        if event.isDone { return .end(keepable: true) }
        guard let chunk = try? JSONValue.parse(Array(event.data.utf8)) else {
            return event.name == "error" ? .failure(reason: "The upstream sent an error event.", inShape: false) : .unreadable
        }
        if event.name == "error" || (chunk["error"].map { $0 != .null } ?? false) { return .failure(chunk["error"]) }
        var keepable = StreamReading.hasWellFormedUsage(chunk)
        var usage: TokenUsage?
        var isUsageOnly = false
        if let reported = chunk["usage"], let parsed = TokenUsage(usage: reported) {
            usage = parsed
            isUsageOnly = chunk["choices"]?.arrayValue?.isEmpty ?? true
        }
        if assembling && keepable {
            do {
                try accumulator.add(chunk)
            } catch {
                keepable = false
            }
        }
        return .content(usage: usage, isUsageOnly: isUsageOnly, keepable: keepable)
    }

    public var answer: JSONValue? {
        guard accumulator.chunkCount > 0 else { return nil }
        let answer = accumulator.result
        return AnswerShape.completion.problem(in: answer) == nil ? answer : nil
    }

    package static let missingEnd = "The upstream stream ended before data: [DONE]."

    package static func events(answering answer: JSONValue, includeUsage: Bool) -> [ByteBuffer]? {
        guard answer["choices"]?.arrayValue != nil else { return nil }
        return OpenAIChunkSynthesizer.events(OpenAIChunkSynthesizer.chunks(from: answer, includeUsage: includeUsage))
    }

    /// A chunk holding the error body the sidecar answers with (`APIError.body`).
    package static func errorEvent(message: String, type: String, code: String, param: String?) -> ByteBuffer {
        let body: JSONValue = .object([
            "type": .string("error"),
            "error": .object([
                "message": .string(message), "type": .string(type), "param": param.map(JSONValue.string) ?? .null, "code": .string(code),
            ]),
        ])
        var event = ByteBuffer(string: "data: ")
        event.writeBytes(body.serialized())
        event.writeString("\n\n")
        return event
    }
}

/// What a stored answer must look like, by endpoint. Only an answer that parses as its
/// endpoint's shape is stored: anything else is relayed once and never served again.
package enum AnswerShape: Sendable, Equatable {
    /// `/v1/chat/completions`, `/v1/completions`: `choices`, a non-empty array of
    /// objects, each with a whole-number `index` of 0 or more.
    case completion
    /// `/v1/embeddings`: `data`, a non-empty array of objects with such an `index`.
    case embedding
    /// `/v1/messages`: a `message` with a `content` array.
    case message
    /// `/v1/responses`: a `response` whose `status` is `completed`, with an `output`
    /// array of objects. A queued, in-progress, incomplete or failed one is not an answer.
    case response

    /// The cached routes, each of which stores one of these shapes.
    package static let paths = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/messages", "/v1/responses"]

    package init?(path: String) {
        switch path {
        case "/v1/chat/completions", "/v1/completions": self = .completion
        case "/v1/embeddings": self = .embedding
        case "/v1/messages": self = .message
        case "/v1/responses": self = .response
        default: return nil
        }
    }

    /// Why `body` may not be stored, or nil when it may. The body must also be valid
    /// UTF-8 and its `usage`, when present, hold only well-formed counts.
    package func problem(in body: UnsafeRawBufferPointer) -> String? {
        guard String(validating: body.bindMemory(to: UInt8.self), as: UTF8.self) != nil else { return "the answer is not valid UTF-8" }
        guard let parsed = try? JSONValue.parse(body) else { return "the answer is not JSON" }
        return problem(in: parsed)
    }

    package func problem(in answer: JSONValue) -> String? {
        guard answer.members != nil else { return "the answer is not a JSON object" }
        if let usage = answer["usage"], usage != .null, !TokenUsage.isWellFormed(usage: usage) {
            return "usage holds a count that is negative, fractional or too large"
        }
        switch self {
        case .completion: return Self.indexed(answer["choices"], "choices")
        case .embedding: return Self.indexed(answer["data"], "data")
        case .message:
            guard answer["type"]?.stringValue == "message" else { return "the answer is not a message" }
            guard answer["content"]?.arrayValue != nil else { return "the message has no content array" }
            return nil
        case .response:
            guard answer["object"]?.stringValue == "response" else { return "the answer is not a response" }
            guard let status = answer["status"]?.stringValue, status == "completed" else {
                return "the response's status is \(answer["status"]?.stringValue ?? "missing"), not completed"
            }
            guard let output = answer["output"]?.arrayValue, output.allSatisfy({ $0.members != nil }) else {
                return "the response has no output array of objects"
            }
            return nil
        }
    }

    private static func indexed(_ list: JSONValue?, _ name: String) -> String? {
        guard let items = list?.arrayValue, !items.isEmpty else { return "\(name) is not a non-empty array" }
        for item in items {
            guard item.members != nil, let index = item["index"], index.countValue != nil else {
                return "an entry of \(name) is not an object with a whole-number index of 0 or more"
            }
        }
        return nil
    }
}

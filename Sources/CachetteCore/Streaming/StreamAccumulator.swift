/// Builds the non-streamed answer from a stream's chunks, as the OpenAI SDK's
/// `ChatCompletionStreamState` does: the first chunk sets id, model and created;
/// each choice's `delta` accumulates into its `message` (`DeltaAccumulator` rules,
/// so tool-call arguments concatenate by index); `finish_reason` and `usage` take
/// their last value. Text completions accumulate the choice itself (`text`).
public struct StreamAccumulator: Sendable {
    private var header: [JSONValue.Member] = []
    private var choices: [Int: [JSONValue.Member]] = [:]
    private var usage: JSONValue?
    private var isChat = true
    public private(set) var chunkCount = 0

    public init() {}

    public enum Failure: Error, Equatable {
        case notAnObject
        case badDelta(DeltaAccumulator.Failure)
    }

    public mutating func add(_ chunk: JSONValue) throws(Failure) {
        guard case .object(let members) = chunk else { throw .notAnObject }
        if chunkCount == 0 {
            isChat = chunk["object"]?.stringValue != "text_completion"
            header = members.filter { ["id", "created", "model", "system_fingerprint", "service_tier"].contains($0.key) }
        } else if let fingerprint = chunk["system_fingerprint"], fingerprint != .null {
            header.set("system_fingerprint", fingerprint)
        }
        chunkCount += 1
        if let u = chunk["usage"], u != .null { usage = u }
        for choice in chunk["choices"]?.arrayValue ?? [] {
            guard case .object(let fields) = choice, let index = choice["index"]?.intValue else { continue }
            var acc = choices[index] ?? [.init("index", .int(index))]
            do {
                if isChat {
                    var message = acc.first(where: { $0.key == "message" })?.value.members ?? []
                    if case .object(let delta) = choice["delta"] ?? .null {
                        try DeltaAccumulator.accumulate(&message, delta)
                    }
                    acc.set("message", .object(message))
                    for key in ["finish_reason", "logprobs"] {
                        if let value = choice[key], value != .null { acc.set(key, value) }
                    }
                } else {
                    try DeltaAccumulator.accumulate(&acc, fields.filter { $0.key != "index" })
                }
            } catch {
                throw .badDelta(error)
            }
            choices[index] = acc
        }
    }

    /// The assembled `chat.completion` (or `text_completion`) object.
    public var result: JSONValue {
        var out = header
        out.insert(.init("object", .string(isChat ? "chat.completion" : "text_completion")), at: min(1, out.count))
        let built: [JSONValue] = choices.keys.sorted().map { index in
            var fields = choices[index]!
            if isChat {
                var message = fields.first(where: { $0.key == "message" })?.value.members ?? []
                if !message.contains(where: { $0.key == "role" }) { message.insert(.init("role", .string("assistant")), at: 0) }
                if !message.contains(where: { $0.key == "content" }) { message.append(.init("content", .null)) }
                fields.set("message", .object(message))
            }
            for key in ["finish_reason", "logprobs"] where !fields.contains(where: { $0.key == key }) {
                fields.append(.init(key, .null))
            }
            return .object(fields)
        }
        out.append(.init("choices", .array(built)))
        if let usage { out.append(.init("usage", usage)) }
        return .object(out)
    }
}

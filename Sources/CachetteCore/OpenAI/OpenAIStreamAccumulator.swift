/// Builds the non-streamed answer from a stream's chunks, as the OpenAI SDK's
/// `ChatCompletionStreamState` does: the first chunk sets id, model and created;
/// each choice's `delta` accumulates into its `message` (`DeltaAccumulator` rules,
/// so tool-call arguments concatenate by index); `logprobs` lists append;
/// `finish_reason` and `usage` take their last value. Text completions accumulate
/// the choice itself (`text`).
///
/// A choice without a whole-number `index` in `0...maxChoiceIndex` fails the stream
/// rather than being dropped: an answer missing a choice must not be stored.
package struct OpenAIStreamAccumulator: Sendable {
    private var header: [JSONValue.Member] = []
    private var choices: [Int: [JSONValue.Member]] = [:]
    private var usage: JSONValue?
    private var isChat = true
    package private(set) var chunkCount = 0

    /// OpenAI allows `n` up to 128.
    package static let maxChoiceIndex = 1024

    package init() {}

    package enum Failure: Error, Equatable {
        case notAnObject
        case choiceWithoutIndex
        case badDelta(DeltaAccumulator.Failure)
    }

    package mutating func add(_ chunk: JSONValue) throws(Failure) {
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
            guard case .object(let fields) = choice, let index = choice["index"]?.countValue,
                index <= Self.maxChoiceIndex
            else { throw .choiceWithoutIndex }
            // Taken out of the table (and the message out of it) so that both grow in place.
            var acc = choices.removeValue(forKey: index) ?? [.init("index", .int(index))]
            do {
                if isChat {
                    var message: [JSONValue.Member] = []
                    if let at = acc.firstIndex(where: { $0.key == "message" }), case .object(let taken) = acc[at].value.take() {
                        message = taken
                    }
                    if case .object(let delta) = choice["delta"] ?? .null {
                        try DeltaAccumulator.accumulate(&message, delta)
                    }
                    acc.set("message", .object(message))
                    if let value = choice["finish_reason"], value != .null { acc.set("finish_reason", value) }
                } else {
                    try DeltaAccumulator.accumulate(&acc, fields.filter { $0.key != "index" && $0.key != "logprobs" })
                }
            } catch {
                throw .badDelta(error)
            }
            if let logprobs = choice["logprobs"], logprobs != .null {
                let earlier = acc.firstIndex(where: { $0.key == "logprobs" }).map { acc[$0].value.take() }
                acc.set("logprobs", Self.appending(logprobs, to: earlier))
            }
            choices[index] = acc
        }
    }

    /// Each chunk carries the logprobs of its own tokens: lists append (`content`,
    /// `refusal`; `tokens`, `token_logprobs`, `top_logprobs`, `text_offset` for text
    /// completions), anything else takes the latest value.
    static func appending(_ next: JSONValue, to current: JSONValue?) -> JSONValue {
        guard case .object(var merged) = current ?? .null, case .object(let update) = next else { return next }
        for member in update {
            if case .array(let items) = member.value, let at = merged.firstIndex(where: { $0.key == member.key }),
                case .array = merged[at].value
            {
                guard case .array(var existing) = merged[at].value.take() else { continue }
                existing.append(contentsOf: items)
                merged[at].value = .array(existing)
            } else if member.value != .null || !merged.contains(where: { $0.key == member.key }) {
                merged.set(member.key, member.value)
            }
        }
        return .object(merged)
    }

    /// The assembled `chat.completion` (or `text_completion`) object.
    public var result: JSONValue {
        var out = header
        out.insert(.init("object", .string(isChat ? "chat.completion" : "text_completion")), at: min(1, out.count))
        let built: [JSONValue] = choices.sorted { $0.key < $1.key }.map { _, accumulated in
            var fields = accumulated
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

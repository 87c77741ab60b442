/// Builds the non-streamed Anthropic `message` from its stream, as Anthropic's SDKs do:
/// `message_start` gives the message; each content block starts at its index and
/// gathers its deltas (text, thinking, signature, citations, and `partial_json`, parsed
/// into `input` when the block stops); `message_delta` sets the stop reason and updates
/// `usage`.
package struct AnthropicStreamAccumulator: Sendable {
    private var message: [JSONValue.Member]?
    private var blocks: [[JSONValue.Member]] = []
    private var partialJSON: [Int: String] = [:]
    package private(set) var usage: JSONValue?

    package init() {}

    package enum Failure: Error, Equatable {
        case noMessageStart
        case blockOutOfOrder(Int)
        case badToolInput(Int)
    }

    package mutating func add(_ event: JSONValue) throws(Failure) {
        switch event["type"]?.stringValue {
        case "message_start":
            message = event["message"]?.members ?? []
            usage = event["message"]?["usage"]
        case "content_block_start":
            guard message != nil else { throw .noMessageStart }
            let index = event["index"].map { $0.countValue ?? -1 } ?? blocks.count
            guard index == blocks.count else { throw .blockOutOfOrder(index) }
            blocks.append(event["content_block"]?.members ?? [])
        case "content_block_delta":
            let index = event["index"]?.countValue ?? -1
            guard blocks.indices.contains(index), let delta = event["delta"] else { throw .blockOutOfOrder(index) }
            switch delta["type"]?.stringValue {
            case "text_delta": Self.append(&blocks[index], "text", delta["text"]?.stringValue)
            case "thinking_delta": Self.append(&blocks[index], "thinking", delta["thinking"]?.stringValue)
            case "signature_delta": Self.append(&blocks[index], "signature", delta["signature"]?.stringValue)
            case "input_json_delta": partialJSON[index, default: ""] += delta["partial_json"]?.stringValue ?? ""
            case "citations_delta":
                var citations = blocks[index].first(where: { $0.key == "citations" })?.value.arrayValue ?? []
                if let citation = delta["citation"] { citations.append(citation) }
                blocks[index].set("citations", .array(citations))
            default: break
            }
        case "content_block_stop":
            let index = event["index"]?.countValue ?? -1
            guard blocks.indices.contains(index) else { throw .blockOutOfOrder(index) }
            if let json = partialJSON.removeValue(forKey: index) {
                guard let input = json.isEmpty ? .object([]) : try? JSONValue.parse(json) else { throw .badToolInput(index) }
                blocks[index].set("input", input)
            }
        case "message_delta":
            guard var updated = message else { throw .noMessageStart }
            for member in event["delta"]?.members ?? [] { updated.set(member.key, member.value) }
            message = updated
            if let update = event["usage"]?.members {
                var merged = usage ?? .object([])
                for member in update where member.value != .null { merged.set(member.key, member.value) }
                usage = merged
            }
        default:
            break
        }
    }

    /// The assembled `message`, or nil before `message_start`.
    public var result: JSONValue? {
        guard var message else { return nil }
        message.set("content", .array(blocks.map { .object($0) }))
        if let usage { message.set("usage", usage) }
        return .object(message)
    }

    /// In place: the text is taken out of the block before it grows.
    private static func append(_ block: inout [JSONValue.Member], _ key: String, _ text: String?) {
        guard let at = block.firstIndex(where: { $0.key == key }) else {
            block.append(.init(key, .string(text ?? "")))
            return
        }
        guard case .string(var current) = block[at].value.take() else {
            block[at].value = .string(text ?? "")
            return
        }
        current += text ?? ""
        block[at].value = .string(current)
    }
}

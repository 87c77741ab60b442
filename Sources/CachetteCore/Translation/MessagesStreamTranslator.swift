import NIOCore

/// Rewrites an Anthropic Messages event stream as OpenAI chat completion chunks while it
/// arrives: the role chunk at `message_start`, content and reasoning deltas, a
/// `tool_calls` delta opening each tool_use block and carrying its `partial_json`, the
/// finish chunk at `message_delta`, and at `message_stop` the usage chunk and
/// `data: [DONE]`. An `error` event becomes an OpenAI error event. The output then goes
/// through the same recorder as any OpenAI stream.
///
/// The Anthropic message is assembled alongside, so a stream that is not a well-formed
/// message (a delta for a block never started, bad usage, an oversized event) is known
/// not to be `isFaithful`, and its translation is relayed but not stored.
package struct MessagesStreamTranslator: Sendable {
    private var parser: SSEParser
    private var message = AnthropicStreamAccumulator()
    /// Every event so far was a well-formed part of a message, and, once it stopped, the message is whole.
    package private(set) var isFaithful = true
    private let created: Int
    private var id = JSONValue.string("")
    private var model = JSONValue.string("")
    private var inputUsage = JSONValue.object([])
    private var outputTokens = 0
    /// content block index → tool call index, for the blocks that are tool_use.
    private var toolIndex: [Int: Int] = [:]
    private var stopped = false

    /// - Parameter maxEventBytes: the longest event translated; a longer one is an error.
    package init(created: Int, maxEventBytes: Int = 64 << 20) {
        self.created = created
        parser = SSEParser(maxEventBytes: maxEventBytes)
    }

    public mutating func feed(_ bytes: ByteBuffer) -> ByteBuffer {
        var out: [UInt8] = []
        for event in parser.feed(bytes.readableBytesView) where !stopped {
            if event.isOversized {
                if isFaithful { SSEWriter.append(Self.upstreamError("The upstream sent an event too large to translate."), to: &out) }
                isFaithful = false
                continue
            }
            if event.isComment {
                out += event.raw
                continue
            }
            guard let data = try? JSONValue.parse(event.data) else {
                isFaithful = false
                SSEWriter.append(Self.upstreamError("The upstream sent an event that is not JSON."), to: &out)
                continue
            }
            do {
                try message.add(data)
            } catch {
                isFaithful = false
            }
            if !StreamReading.hasWellFormedUsage(data) { isFaithful = false }
            translate(data, name: event.name, into: &out)
            if stopped, isFaithful {
                isFaithful = message.result.map { AnswerShape.message.problem(in: $0) == nil } ?? false
            }
        }
        return ByteBuffer(bytes: out)
    }

    private mutating func translate(_ data: JSONValue, name: String?, into out: inout [UInt8]) {
        switch data["type"]?.stringValue ?? name {
        case "message_start":
            let message = data["message"] ?? .object([])
            id = message["id"] ?? id
            model = message["model"] ?? model
            inputUsage = message["usage"] ?? inputUsage
            outputTokens = TokenUsage.count(inputUsage["output_tokens"])
            chunk(.object(["role": .string("assistant"), "content": .string("")]), into: &out)
        case "content_block_start":
            let index = data["index"]?.intValue ?? 0
            let block = data["content_block"] ?? .object([])
            switch block["type"]?.stringValue {
            case "tool_use":
                let call = toolIndex.count
                toolIndex[index] = call
                let opening: JSONValue = .object([
                    "index": .int(call), "id": block["id"] ?? .null, "type": .string("function"),
                    "function": .object(["name": block["name"] ?? .string(""), "arguments": .string("")]),
                ])
                chunk(.object(["tool_calls": .array([opening])]), into: &out)
            case "text":
                if let text = block["text"]?.stringValue, !text.isEmpty { chunk(.object(["content": .string(text)]), into: &out) }
            default:
                break
            }
        case "content_block_delta":
            let delta = data["delta"] ?? .object([])
            switch delta["type"]?.stringValue {
            case "text_delta":
                chunk(.object(["content": delta["text"] ?? .string("")]), into: &out)
            case "thinking_delta":
                chunk(.object(["reasoning_content": delta["thinking"] ?? .string("")]), into: &out)
            case "input_json_delta":
                guard let call = toolIndex[data["index"]?.intValue ?? -1] else { break }
                let piece: JSONValue = .object(["index": .int(call), "function": .object(["arguments": delta["partial_json"] ?? .string("")])])
                chunk(.object(["tool_calls": .array([piece])]), into: &out)
            default:
                break  // signatures and citations have no OpenAI counterpart
            }
        case "message_delta":
            if let tokens = data["usage"]?["output_tokens"] { outputTokens = TokenUsage.count(tokens) }
            if let reason = data["delta"]?["stop_reason"], reason != .null {
                chunk(.object([:]), finish: MessagesAnswerTranslator.finishReason(reason), into: &out)
            }
        case "message_stop":
            stopped = true
            var usage = inputUsage
            usage.set("output_tokens", .int(outputTokens))
            SSEWriter.append(.object(header + [.init("choices", .array([])), .init("usage", MessagesAnswerTranslator.usage(usage))]), to: &out)
            out += Array("data: [DONE]\n\n".utf8)
        case "error":
            SSEWriter.append(MessagesAnswerTranslator.error(data) ?? Self.upstreamError("The upstream sent an error event."), to: &out)
        case "ping":
            out += Array(": ping\n\n".utf8)  // still a keep-alive, as a comment
        default:
            break  // content_block_stop carries nothing a chunk would
        }
    }

    private var header: [JSONValue.Member] {
        [.init("id", id), .init("object", .string("chat.completion.chunk")), .init("created", .int(created)), .init("model", model)]
    }

    private func chunk(_ delta: JSONValue, finish: JSONValue = .null, into out: inout [UInt8]) {
        let choice: JSONValue = .object([
            .init("index", .int(0)), .init("delta", delta), .init("logprobs", .null), .init("finish_reason", finish),
        ])
        SSEWriter.append(.object(header + [.init("choices", .array([choice]))]), to: &out)
    }

    private static func upstreamError(_ message: String) -> JSONValue {
        .object(["error": .object(["message": .string(message), "type": .string("upstream_error")])])
    }
}

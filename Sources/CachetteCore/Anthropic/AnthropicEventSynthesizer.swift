import NIOCore

/// Turns a stored non-streamed Anthropic `message` into the event stream Anthropic
/// would have sent for it, for a `stream: true` request served from that entry:
/// `message_start` (no content yet, no output tokens), each block's start, deltas and
/// stop, `message_delta` with the stop reason and output tokens, and `message_stop`.
/// `AnthropicStreamAccumulator` assembles the events back into the message.
package enum AnthropicEventSynthesizer {
    package static func events(from message: JSONValue) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        func event(_ name: String, _ data: JSONValue) {
            var bytes: [UInt8] = []
            SSEWriter.append(data, name: name, to: &bytes)
            out.append(ByteBuffer(bytes: bytes))
        }
        let usage = message["usage"] ?? .object([])
        var opening = message
        opening.set("content", .array([]))
        opening.set("stop_reason", .null)
        opening.set("stop_sequence", .null)
        var startUsage = usage
        startUsage.set("output_tokens", .int(0))
        if usage.members != nil { opening.set("usage", startUsage) }
        event("message_start", .object(["type": .string("message_start"), "message": opening]))

        for (index, block) in (message["content"]?.arrayValue ?? []).enumerated() {
            func delta(_ fields: JSONValue) {
                event("content_block_delta", .object(["type": .string("content_block_delta"), "index": .int(index), "delta": fields]))
            }
            var start = block
            var deltas: [JSONValue] = []
            switch block["type"]?.stringValue {
            case "text":
                start.set("text", .string(""))
                start = .object((start.members ?? []).filter { $0.key != "citations" })
                for citation in block["citations"]?.arrayValue ?? [] {
                    deltas.append(.object(["type": .string("citations_delta"), "citation": citation]))
                }
                for piece in OpenAIChunkSynthesizer.pieces(block["text"]?.stringValue ?? "") {
                    deltas.append(.object(["type": .string("text_delta"), "text": .string(piece)]))
                }
            case "thinking":
                start.set("thinking", .string(""))
                start.set("signature", .string(""))
                for piece in OpenAIChunkSynthesizer.pieces(block["thinking"]?.stringValue ?? "") {
                    deltas.append(.object(["type": .string("thinking_delta"), "thinking": .string(piece)]))
                }
                if let signature = block["signature"]?.stringValue, !signature.isEmpty {
                    deltas.append(.object(["type": .string("signature_delta"), "signature": .string(signature)]))
                }
            case "tool_use", "server_tool_use":
                start.set("input", .object([]))
                for piece in OpenAIChunkSynthesizer.pieces((block["input"] ?? .object([])).jsonString) {
                    deltas.append(.object(["type": .string("input_json_delta"), "partial_json": .string(piece)]))
                }
            default:
                break  // other blocks arrive whole in their start event
            }
            event("content_block_start", .object(["type": .string("content_block_start"), "index": .int(index), "content_block": start]))
            deltas.forEach(delta)
            event("content_block_stop", .object(["type": .string("content_block_stop"), "index": .int(index)]))
        }
        var finalUsage: [JSONValue.Member] = [.init("output_tokens", usage["output_tokens"] ?? .int(0))]
        if usage.members == nil { finalUsage = [] }
        event(
            "message_delta",
            .object([
                "type": .string("message_delta"),
                "delta": .object(["stop_reason": message["stop_reason"] ?? .null, "stop_sequence": message["stop_sequence"] ?? .null]),
                "usage": .object(finalUsage),
            ]))
        event("message_stop", .object(["type": .string("message_stop")]))
        return out
    }

    /// The event that ends a stream that failed, in Anthropic's shape.
    public static func error(type: String, message: String) -> ByteBuffer {
        var bytes: [UInt8] = []
        let error: JSONValue = .object(["type": .string("error"), "error": .object(["type": .string(type), "message": .string(message)])])
        SSEWriter.append(error, name: "error", to: &bytes)
        return ByteBuffer(bytes: bytes)
    }
}

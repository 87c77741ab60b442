import NIOCore

/// Turns a stored non-streamed `response` into the typed events OpenAI would have sent
/// for it, for a `stream: true` request served from that entry: `response.created` and
/// `response.in_progress` (no output yet), each output item's `added`, its parts,
/// deltas and `done` events, then `response.completed` with the whole response.
/// Sequence numbers run from 0 without a gap. The openai SDKs' stream helpers
/// accumulate the result back into the response.
package enum ResponsesEventSynthesizer {
    package static func events(from response: JSONValue) -> [ByteBuffer] {
        var writer = Writer()
        var opening = response
        opening.set("status", .string("in_progress"))
        opening.set("output", .array([]))
        opening.set("usage", .null)
        writer.event("response.created", ["response": opening])
        writer.event("response.in_progress", ["response": opening])
        for (index, item) in (response["output"]?.arrayValue ?? []).enumerated() {
            writer.item(item, at: index)
        }
        writer.event("response.completed", ["response": response])
        return writer.out
    }

    private struct Writer {
        var out: [ByteBuffer] = []
        private var sequence = 0

        mutating func event(_ type: String, _ fields: KeyValuePairs<String, JSONValue>) {
            var members: [JSONValue.Member] = [.init("type", .string(type)), .init("sequence_number", .int(sequence))]
            members += fields.map { JSONValue.Member($0.key, $0.value) }
            var bytes: [UInt8] = []
            SSEWriter.append(.object(members), name: type, to: &bytes)
            out.append(ByteBuffer(bytes: bytes))
            sequence += 1
        }

        mutating func item(_ item: JSONValue, at index: Int) {
            let outputIndex = JSONValue.int(index)
            let id = item["id"] ?? .null
            var opening = item
            if item["status"] != nil { opening.set("status", .string("in_progress")) }
            switch item["type"]?.stringValue {
            case "message":
                opening.set("content", .array([]))
                event("response.output_item.added", ["output_index": outputIndex, "item": opening])
                for (partIndex, part) in (item["content"]?.arrayValue ?? []).enumerated() {
                    contentPart(part, at: partIndex, of: id, outputIndex)
                }
            case "function_call":
                opening.set("arguments", .string(""))
                event("response.output_item.added", ["output_index": outputIndex, "item": opening])
                let arguments = item["arguments"]?.stringValue ?? ""
                for piece in OpenAIChunkSynthesizer.pieces(arguments) {
                    event("response.function_call_arguments.delta", ["item_id": id, "output_index": outputIndex, "delta": .string(piece)])
                }
                event(
                    "response.function_call_arguments.done",
                    ["item_id": id, "output_index": outputIndex, "name": item["name"] ?? .null, "arguments": .string(arguments)])
            case "reasoning":
                opening.set("summary", .array([]))
                event("response.output_item.added", ["output_index": outputIndex, "item": opening])
                for (summaryIndex, part) in (item["summary"]?.arrayValue ?? []).enumerated() {
                    let at = JSONValue.int(summaryIndex)
                    let text = part["text"]?.stringValue ?? ""
                    var empty = part
                    empty.set("text", .string(""))
                    event(
                        "response.reasoning_summary_part.added", ["item_id": id, "output_index": outputIndex, "summary_index": at, "part": empty])
                    for piece in OpenAIChunkSynthesizer.pieces(text) {
                        event(
                            "response.reasoning_summary_text.delta",
                            ["item_id": id, "output_index": outputIndex, "summary_index": at, "delta": .string(piece)])
                    }
                    event(
                        "response.reasoning_summary_text.done",
                        ["item_id": id, "output_index": outputIndex, "summary_index": at, "text": .string(text)])
                    event("response.reasoning_summary_part.done", ["item_id": id, "output_index": outputIndex, "summary_index": at, "part": part])
                }
            default:
                // Tool calls the server ran (web search, file search, …) arrive whole.
                event("response.output_item.added", ["output_index": outputIndex, "item": opening])
            }
            event("response.output_item.done", ["output_index": outputIndex, "item": item])
        }

        private mutating func contentPart(_ part: JSONValue, at partIndex: Int, of id: JSONValue, _ outputIndex: JSONValue) {
            let at = JSONValue.int(partIndex)
            var empty = part
            switch part["type"]?.stringValue {
            case "output_text":
                let text = part["text"]?.stringValue ?? ""
                empty.set("text", .string(""))
                empty.set("annotations", .array([]))
                event("response.content_part.added", ["item_id": id, "output_index": outputIndex, "content_index": at, "part": empty])
                for piece in OpenAIChunkSynthesizer.pieces(text) {
                    event(
                        "response.output_text.delta",
                        ["item_id": id, "output_index": outputIndex, "content_index": at, "delta": .string(piece), "logprobs": .array([])])
                }
                for (annotationIndex, annotation) in (part["annotations"]?.arrayValue ?? []).enumerated() {
                    event(
                        "response.output_text.annotation.added",
                        [
                            "item_id": id, "output_index": outputIndex, "content_index": at, "annotation_index": .int(annotationIndex),
                            "annotation": annotation,
                        ])
                }
                event(
                    "response.output_text.done",
                    [
                        "item_id": id, "output_index": outputIndex, "content_index": at, "text": .string(text),
                        "logprobs": part["logprobs"] ?? .array([]),
                    ])
            case "refusal":
                let refusal = part["refusal"]?.stringValue ?? ""
                empty.set("refusal", .string(""))
                event("response.content_part.added", ["item_id": id, "output_index": outputIndex, "content_index": at, "part": empty])
                for piece in OpenAIChunkSynthesizer.pieces(refusal) {
                    event("response.refusal.delta", ["item_id": id, "output_index": outputIndex, "content_index": at, "delta": .string(piece)])
                }
                event("response.refusal.done", ["item_id": id, "output_index": outputIndex, "content_index": at, "refusal": .string(refusal)])
            default:
                event("response.content_part.added", ["item_id": id, "output_index": outputIndex, "content_index": at, "part": part])
            }
            event("response.content_part.done", ["item_id": id, "output_index": outputIndex, "content_index": at, "part": part])
        }
    }
}

import NIOCore

/// Turns a stored non-streamed answer into the chunk sequence a stream would have
/// carried, for a streaming request served from a non-streamed entry:
/// the role chunk, content pieces, `tool_calls` deltas (id, type and name first, then
/// the arguments in pieces), a finish chunk, and the usage chunk if asked for.
/// Accumulating the result with `OpenAIStreamAccumulator` gives back the answer's content,
/// tool calls, finish reasons and usage.
package enum OpenAIChunkSynthesizer {
    /// Pieces are cut at character boundaries, about this many bytes each, so a client
    /// renders text progressively as it would from the upstream.
    package static let pieceBytes = 48

    public static func chunks(from answer: JSONValue, includeUsage: Bool) -> [JSONValue] {
        let isChat = answer["object"]?.stringValue != "text_completion"
        let header = (answer.members ?? []).filter { ["id", "created", "model", "system_fingerprint"].contains($0.key) }
        func chunk(_ choices: [JSONValue], usage: JSONValue? = nil) -> JSONValue {
            var members = header
            members.insert(.init("object", .string(isChat ? "chat.completion.chunk" : "text_completion")), at: min(1, members.count))
            members.append(.init("choices", .array(choices)))
            if let usage { members.append(.init("usage", usage)) }
            return .object(members)
        }
        func choice(_ index: Int, _ fields: [JSONValue.Member], finish: JSONValue = .null, logprobs: JSONValue = .null) -> JSONValue {
            .object([.init("index", .int(index))] + fields + [.init("logprobs", logprobs), .init("finish_reason", finish)])
        }

        var out: [JSONValue] = []
        let choices = answer["choices"]?.arrayValue ?? []
        for (position, original) in choices.enumerated() {
            let index = original["index"]?.intValue ?? position
            if isChat {
                let message = original["message"] ?? .object([:])
                let role = message["role"] ?? .string("assistant")
                out.append(chunk([choice(index, [.init("delta", .object(["role": role, "content": .string("")]))])]))
                for piece in pieces(message["reasoning_content"]?.stringValue ?? "") {
                    out.append(chunk([choice(index, [.init("delta", .object(["reasoning_content": .string(piece)]))])]))
                }
                for piece in pieces(message["content"]?.stringValue ?? "") {
                    out.append(chunk([choice(index, [.init("delta", .object(["content": .string(piece)]))])]))
                }
                if let refusal = message["refusal"]?.stringValue {
                    for piece in pieces(refusal) {
                        out.append(chunk([choice(index, [.init("delta", .object(["refusal": .string(piece)]))])]))
                    }
                }
                for (callIndex, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
                    let function = call["function"] ?? .object([:])
                    let opening: JSONValue = .object([
                        "index": .int(callIndex),
                        "id": call["id"] ?? .null,
                        "type": call["type"] ?? .string("function"),
                        "function": .object(["name": function["name"] ?? .string(""), "arguments": .string("")]),
                    ])
                    out.append(chunk([choice(index, [.init("delta", .object(["tool_calls": .array([opening])]))])]))
                    for piece in pieces(function["arguments"]?.stringValue ?? "") {
                        let delta: JSONValue = .object(["index": .int(callIndex), "function": .object(["arguments": .string(piece)])])
                        out.append(chunk([choice(index, [.init("delta", .object(["tool_calls": .array([delta])]))])]))
                    }
                }
                // Whatever else the message holds (audio, annotations, …) arrives whole, once.
                let rest = (message.members ?? []).filter { !Self.streamedPieces.contains($0.key) && $0.value != .null }
                if !rest.isEmpty { out.append(chunk([choice(index, [.init("delta", .object(rest))])])) }
                // The logprobs of every token at once: appended to nothing, they are the answer's.
                out.append(
                    chunk([
                        choice(
                            index, [.init("delta", .object([:]))], finish: original["finish_reason"] ?? .null, logprobs: original["logprobs"] ?? .null
                        )
                    ]))
            } else {
                for piece in pieces(original["text"]?.stringValue ?? "") {
                    out.append(chunk([choice(index, [.init("text", .string(piece))])]))
                }
                out.append(
                    chunk([
                        choice(
                            index, [.init("text", .string(""))], finish: original["finish_reason"] ?? .null, logprobs: original["logprobs"] ?? .null
                        )
                    ]))
            }
        }
        if includeUsage, let usage = answer["usage"], usage != .null {
            out.append(chunk([], usage: usage))
        }
        return out
    }

    /// Message members sent in pieces of their own.
    static let streamedPieces: Set<String> = ["role", "content", "refusal", "tool_calls", "reasoning_content"]

    /// The chunks as SSE events, one buffer each, ending with `data: [DONE]`.
    package static func events(_ chunks: [JSONValue]) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        out.reserveCapacity(chunks.count + 1)
        var bytes: [UInt8] = []
        for chunk in chunks {
            bytes.removeAll(keepingCapacity: true)
            SSEWriter.append(chunk, to: &bytes)
            out.append(ByteBuffer(bytes: bytes))
        }
        out.append(ByteBuffer(string: "data: [DONE]\n\n"))
        return out
    }

    /// The same as one run of bytes.
    static func sse(_ chunks: [JSONValue]) -> [UInt8] {
        events(chunks).flatMap { Array($0.readableBytesView) }
    }

    static func pieces(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if current.utf8.count >= pieceBytes {
                out.append(current)
                current = ""
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}

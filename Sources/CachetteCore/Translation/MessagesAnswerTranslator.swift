/// Rewrites an Anthropic Messages answer (or error) in OpenAI's chat completion shape,
/// for a request that was translated on the way out.
package enum MessagesAnswerTranslator {
    /// `stop_reason` → `finish_reason`.
    package static func finishReason(_ stopReason: JSONValue?) -> JSONValue {
        switch stopReason?.stringValue {
        case nil: .null
        case "max_tokens", "model_context_window_exceeded": .string("length")
        case "tool_use": .string("tool_calls")
        case "refusal": .string("content_filter")
        default: .string("stop")  // end_turn, stop_sequence, pause_turn
        }
    }

    /// Anthropic's `usage` as OpenAI's: the prompt counts cache writes and reads as well
    /// as `input_tokens`, and the reads are `prompt_tokens_details.cached_tokens`. The
    /// two Anthropic counts stay beside them, as LiteLLM puts them, so writes can be priced.
    public static func usage(_ usage: JSONValue) -> JSONValue {
        // Clamped, so no upstream number can overflow the sums.
        let input = TokenUsage.count(usage["input_tokens"])
        let written = TokenUsage.count(usage["cache_creation_input_tokens"])
        let read = TokenUsage.count(usage["cache_read_input_tokens"])
        let output = TokenUsage.count(usage["output_tokens"])
        var translated: JSONValue = .object([
            "prompt_tokens": .int(input + written + read),
            "completion_tokens": .int(output),
            "total_tokens": .int(input + written + read + output),
            "prompt_tokens_details": .object(["cached_tokens": .int(read)]),
            "cache_creation_input_tokens": .int(written),
            "cache_read_input_tokens": .int(read),
        ])
        // How the writes split by lifetime, which prices them, when Anthropic says.
        if let lifetimes = usage["cache_creation"], let hour = lifetimes["ephemeral_1h_input_tokens"] {
            translated.set(
                "cache_creation",
                .object([
                    "ephemeral_5m_input_tokens": .int(TokenUsage.count(lifetimes["ephemeral_5m_input_tokens"])),
                    "ephemeral_1h_input_tokens": .int(TokenUsage.count(hour)),
                ]))
        }
        return translated
    }

    /// The `chat.completion` for a `message`. Text blocks join into `content`, tool_use
    /// blocks become `tool_calls` (input serialized as the arguments string), and
    /// thinking goes to `reasoning_content`, where LiteLLM and others put it.
    public static func completion(_ message: JSONValue, created: Int) -> JSONValue {
        var text = "", reasoning = ""
        var calls: [JSONValue] = []
        for block in message["content"]?.arrayValue ?? [] {
            switch block["type"]?.stringValue {
            case "text": text += block["text"]?.stringValue ?? ""
            case "thinking": reasoning += block["thinking"]?.stringValue ?? ""
            case "tool_use":
                calls.append(
                    .object([
                        "id": block["id"] ?? .null,
                        "type": .string("function"),
                        "function": .object([
                            "name": block["name"] ?? .string(""),
                            "arguments": .string((block["input"] ?? .object([])).jsonString),
                        ]),
                    ]))
            default: continue
            }
        }
        var reply: [JSONValue.Member] = [
            .init("role", .string("assistant")), .init("content", text.isEmpty && !calls.isEmpty ? .null : .string(text)),
        ]
        if !reasoning.isEmpty { reply.append(.init("reasoning_content", .string(reasoning))) }
        if !calls.isEmpty { reply.append(.init("tool_calls", .array(calls))) }
        var out: [JSONValue.Member] = [
            .init("id", message["id"] ?? .string("")),
            .init("object", .string("chat.completion")),
            .init("created", .int(created)),
            .init("model", message["model"] ?? .string("")),
            .init(
                "choices",
                .array([
                    .object([
                        .init("index", .int(0)),
                        .init("message", .object(reply)),
                        .init("logprobs", .null),
                        .init("finish_reason", finishReason(message["stop_reason"])),
                    ])
                ])),
        ]
        if let usage = message["usage"], usage.members != nil { out.append(.init("usage", Self.usage(usage))) }
        return .object(out)
    }

    /// `{"type":"error","error":{"type","message"}}` as `{"error":{"message","type","param","code"}}`.
    /// Nil for a body that is not Anthropic's error shape (it is then passed on as it is).
    public static func error(_ body: JSONValue) -> JSONValue? {
        guard let error = body["error"], let message = error["message"]?.stringValue else { return nil }
        let type = error["type"]?.stringValue ?? "api_error"
        return .object([
            "error": .object([
                "message": .string(message), "type": .string(type), "param": .null, "code": .string(type),
            ])
        ])
    }
}

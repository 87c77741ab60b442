/// Rewrites an OpenAI chat completions request as an Anthropic Messages request, for a
/// model routed to an Anthropic upstream. Whatever has no faithful equivalent is
/// refused with an `InvalidRequest` naming it, rather than dropped: a proxy that quietly
/// ignored `logprobs` or `n` would hand back an answer to a different question.
package enum MessagesRequestTranslator {
    /// Anthropic requires `max_tokens`; this is sent when the request names none.
    package static let defaultMaxTokens = 4096

    /// Fields with no effect on the answer, or none Anthropic can express, that are dropped.
    static let ignored: Set<String> = ["stream_options", "store", "metadata", "service_tier", "user"]
    /// Anthropic's own sampling fields, passed through for clients (LiteLLM) that send them.
    static let native: Set<String> = ["top_k", "thinking"]

    package static func translate(_ request: JSONValue) throws(InvalidRequest) -> JSONValue {
        guard let members = request.members else { throw InvalidRequest("The request body must be a JSON object.", code: "invalid_json") }
        var out: [JSONValue.Member] = []
        var system: [JSONValue] = []
        var messages: [JSONValue] = []
        var maxTokens: JSONValue?
        var toolChoice: JSONValue?
        var parallel = true

        for member in members {
            let value = member.value
            switch member.key {
            case "model":
                out.append(member)
            case "messages":
                guard let list = value.arrayValue else { throw invalid("messages must be an array.", param: "messages") }
                (system, messages) = try translate(messages: list)
            case "max_tokens", "max_completion_tokens":
                if value != .null { maxTokens = value }
            case "temperature":
                guard value != .null else { continue }
                // OpenAI takes 0 to 2, Anthropic 0 to 1; rescaling would change the answer's character.
                if let t = value.doubleValue, t > 1 {
                    throw untranslatable("temperature", "Anthropic accepts a temperature from 0 to 1, and this request asks for \(t)")
                }
                out.append(member)
            case "top_p":
                if value != .null { out.append(member) }
            case "stop":
                switch value {
                case .null: break
                case .string: out.append(.init("stop_sequences", .array([value])))
                case .array: out.append(.init("stop_sequences", value))
                default: throw invalid("stop must be a string or an array of strings.", param: "stop")
                }
            case "stream":
                if value == .bool(true) { out.append(member) }
            case "tools":
                guard value != .null else { continue }
                guard let tools = value.arrayValue else { throw invalid("tools must be an array.", param: "tools") }
                out.append(
                    .init("tools", .array(try tools.enumerated().map { index, tool throws(InvalidRequest) in try translate(tool: tool, at: index) })))
            case "tool_choice":
                if value != .null { toolChoice = try translate(toolChoice: value) }
            case "parallel_tool_calls":
                parallel = value.boolValue ?? true
            case "n":
                if value != .null && value.intValue != 1 { throw untranslatable("n", "Anthropic returns one choice per request") }
            case "logprobs":
                if value.boolValue == true { throw untranslatable("logprobs", "Anthropic does not return log probabilities") }
            case "top_logprobs":
                if value != .null { throw untranslatable("top_logprobs", "Anthropic does not return log probabilities") }
            case "frequency_penalty", "presence_penalty":
                if let penalty = value.doubleValue, penalty != 0 { throw untranslatable(member.key, "Anthropic has no repetition penalties") }
            case "response_format":
                if value != .null && value["type"]?.stringValue != "text" {
                    throw untranslatable("response_format", "Anthropic has no JSON mode; describe the format in the prompt or use a tool")
                }
            case let key where ignored.contains(key):
                continue
            case let key where native.contains(key):
                if value != .null { out.append(member) }
            default:
                throw untranslatable(member.key, "Anthropic's Messages API has no equivalent")
            }
        }
        out.append(.init("max_tokens", maxTokens ?? .int(defaultMaxTokens)))
        if !system.isEmpty { out.append(.init("system", .array(system))) }
        out.append(.init("messages", .array(messages)))
        if !parallel {
            var choice = toolChoice?.members ?? [.init("type", .string("auto"))]
            choice.append(.init("disable_parallel_tool_use", .bool(true)))
            toolChoice = .object(choice)
        }
        if let toolChoice { out.append(.init("tool_choice", toolChoice)) }
        if let user = request["user"]?.stringValue { out.append(.init("metadata", .object(["user_id": .string(user)]))) }
        return .object(out)
    }

    // MARK: Messages

    /// System and developer messages become the top-level `system` blocks; tool results
    /// become `tool_result` blocks of a user turn; consecutive turns of one role merge,
    /// because Anthropic's turns alternate.
    static func translate(messages: [JSONValue]) throws(InvalidRequest) -> (system: [JSONValue], messages: [JSONValue]) {
        var system: [JSONValue] = []
        var turns: [(role: String, blocks: [JSONValue])] = []
        func add(_ role: String, _ blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            if let last = turns.indices.last, turns[last].role == role {
                turns[last].blocks += blocks
            } else {
                turns.append((role, blocks))
            }
        }
        for (index, message) in messages.enumerated() {
            let path = "messages[\(index)]"
            guard let role = message["role"]?.stringValue else { throw invalid("\(path).role is missing.", param: "\(path).role") }
            switch role {
            case "system", "developer":
                system += cached(try contentBlocks(message["content"], path: "\(path).content", images: false), message)
            case "user":
                add("user", cached(try contentBlocks(message["content"], path: "\(path).content"), message))
            case "assistant":
                if let call = message["function_call"], call != .null {
                    throw untranslatable("\(path).function_call", "use tool_calls, which translate to tool_use blocks")
                }
                var blocks = try contentBlocks(message["content"], path: "\(path).content", images: false)
                for (callIndex, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
                    blocks.append(try toolUse(call, path: "\(path).tool_calls[\(callIndex)]"))
                }
                add("assistant", cached(blocks, message))
            case "tool":
                guard let id = message["tool_call_id"]?.stringValue else {
                    throw invalid("\(path).tool_call_id is missing.", param: "\(path).tool_call_id")
                }
                let content = message["content"] ?? .string("")
                let result: JSONValue = content.stringValue != nil ? content : .array(try contentBlocks(content, path: "\(path).content"))
                add("user", cached([.object(["type": .string("tool_result"), "tool_use_id": .string(id), "content": result])], message))
            default:
                throw untranslatable("\(path).role", "the role \"\(role)\" has no Anthropic equivalent")
            }
        }
        let translated = turns.map { turn -> JSONValue in
            // A lone plain text block goes as a string, the form most requests use.
            if turn.blocks.count == 1, turn.blocks[0].members?.count == 2, turn.blocks[0]["type"]?.stringValue == "text",
                let text = turn.blocks[0]["text"]
            {
                return .object(["role": .string(turn.role), "content": text])
            }
            return .object(["role": .string(turn.role), "content": .array(turn.blocks)])
        }
        return (system, translated)
    }

    /// A message's `cache_control` (LiteLLM's way of asking for Anthropic's prompt
    /// caching in OpenAI's format) marks its last block, where Anthropic reads it.
    static func cached(_ blocks: [JSONValue], _ message: JSONValue) -> [JSONValue] {
        guard let control = message["cache_control"], control != .null, !blocks.isEmpty else { return blocks }
        var blocks = blocks
        blocks[blocks.count - 1].set("cache_control", control)
        return blocks
    }

    static func contentBlocks(_ content: JSONValue?, path: String, images: Bool = true) throws(InvalidRequest) -> [JSONValue] {
        switch content ?? .null {
        case .null:
            return []
        case .string(let text):
            return text.isEmpty ? [] : [Self.text(text)]
        case .array(let parts):
            var blocks: [JSONValue] = []
            for (index, part) in parts.enumerated() {
                let partPath = "\(path)[\(index)]"
                switch part["type"]?.stringValue {
                case "text":
                    guard let text = part["text"]?.stringValue else { throw invalid("\(partPath).text is missing.", param: "\(partPath).text") }
                    // Anthropic refuses empty text blocks; an empty part says nothing.
                    if !text.isEmpty { blocks.append(withCacheControl(self.text(text), from: part)) }
                case "image_url" where images:
                    blocks.append(withCacheControl(try image(part["image_url"], path: "\(partPath).image_url"), from: part))
                case let type:
                    throw untranslatable("\(partPath).type", "a \(type.map { "\"\($0)\"" } ?? "untyped") part cannot be sent here")
                }
            }
            return blocks
        default:
            throw invalid("\(path) must be a string or an array of parts.", param: path)
        }
    }

    static func withCacheControl(_ block: JSONValue, from part: JSONValue) -> JSONValue {
        guard let control = part["cache_control"], control != .null else { return block }
        var block = block
        block.set("cache_control", control)
        return block
    }

    static func text(_ text: String) -> JSONValue {
        .object(["type": .string("text"), "text": .string(text)])
    }

    /// A `data:` URL becomes a base64 source; any other URL is passed as a URL source.
    static func image(_ imageURL: JSONValue?, path: String) throws(InvalidRequest) -> JSONValue {
        guard let url = imageURL?["url"]?.stringValue ?? imageURL?.stringValue else {
            throw invalid("\(path).url is missing.", param: "\(path).url")
        }
        let source: JSONValue
        if url.hasPrefix("data:") {
            let rest = url.dropFirst(5)
            guard let comma = rest.firstIndex(of: ","), rest[..<comma].hasSuffix(";base64") else {
                throw invalid("\(path).url must be a base64 data URL (data:<type>;base64,<data>).", param: "\(path).url")
            }
            let mediaType = rest[..<comma].dropLast(7)
            source = .object([
                "type": .string("base64"), "media_type": .string(String(mediaType)), "data": .string(String(rest[rest.index(after: comma)...])),
            ])
        } else {
            source = .object(["type": .string("url"), "url": .string(url)])
        }
        return .object(["type": .string("image"), "source": source])
    }

    static func toolUse(_ call: JSONValue, path: String) throws(InvalidRequest) -> JSONValue {
        guard call["type"]?.stringValue ?? "function" == "function", let function = call["function"],
            let name = function["name"]?.stringValue, let id = call["id"]?.stringValue
        else { throw invalid("\(path) must be a function call with an id and a name.", param: path) }
        let arguments = function["arguments"]?.stringValue ?? ""
        let input: JSONValue
        if arguments.isEmpty {
            input = .object([])
        } else if let parsed = try? JSONValue.parse(arguments), parsed.members != nil {
            input = parsed
        } else {
            throw invalid("\(path).function.arguments must be a JSON object to be sent to Anthropic.", param: "\(path).function.arguments")
        }
        return .object(["type": .string("tool_use"), "id": .string(id), "name": .string(name), "input": input])
    }

    // MARK: Errors

    static func invalid(_ message: String, param: String) -> InvalidRequest {
        InvalidRequest(message, code: "invalid_request", param: param)
    }

    static func untranslatable(_ param: String, _ reason: String) -> InvalidRequest {
        InvalidRequest(
            "The parameter \(param) cannot be translated for an Anthropic upstream: \(reason).", code: "untranslatable_parameter", param: param
        )
    }
}

/// What compressing one request did: each part's tokens before and after.
public struct RequestCompression: Sendable, Equatable {
    package struct Part: Sendable, Equatable {
        /// `1 user`, `2 assistant`, … for messages; `prompt` for a text completion.
        public var label: String
        public var before: Int
        public var after: Int
    }

    package var parts: [Part] = []
    package var tally: CompressionTally { CompressionTally(before: parts.reduce(0) { $0 + $1.before }, after: parts.reduce(0) { $0 + $1.after }) }
}

extension PromptCompressor {
    /// Compresses a chat request's `messages`, else a completions request's `prompt`, as
    /// the sidecar does before forwarding. The request changes only when tokens were
    /// saved. Nil when it has neither.
    public func compress(request: inout JSONValue) -> RequestCompression? {
        if let messages = request["messages"]?.arrayValue {
            let (rewritten, report) = compress(messages: messages)
            if report.saved > 0 { request.set("messages", .array(rewritten)) }
            let parts = messages.indices.map { i in
                RequestCompression.Part(
                    label: "\(i + 1) \(messages[i]["role"]?.stringValue ?? "?")", before: report.before[i], after: report.after[i])
            }
            return RequestCompression(parts: parts)
        }
        if let prompt = request["prompt"]?.stringValue {
            let result = compress(prompt: prompt)
            if result.after < result.before { request.set("prompt", .string(result.prompt)) }
            return RequestCompression(parts: [.init(label: "prompt", before: result.before, after: result.after)])
        }
        return nil
    }
}

extension PromptCompressor {
    /// Compresses a Responses request's `input` as the sidecar does before forwarding:
    /// the text parts of its messages and the outputs of function calls, read as the
    /// chat messages they are (`instructions` first, as the system message the model
    /// sees, rewritten only with `system`). Other items stay as they are. The request
    /// changes only when tokens were saved; nil when it has no `input`.
    public func compress(responsesRequest request: inout JSONValue) -> RequestCompression? {
        guard let input = request["input"] else { return nil }
        let instructions = request["instructions"]?.stringValue
        var messages: [JSONValue] = []
        var labels: [String] = []
        if let instructions {
            messages.append(.object(["role": .string("system"), "content": .string(instructions)]))
            labels.append("instructions")
        }
        let first = messages.count
        let items: [JSONValue]
        switch input {
        case .string: items = [.object(["role": .string("user"), "content": input])]
        case .array(let list): items = list
        default: return nil
        }
        for item in items {
            let type = item["type"]?.stringValue
            if type == "function_call_output" {
                messages.append(.object(["role": .string("tool"), "content": item["output"] ?? .null]))
            } else if type == nil || type == "message" {
                messages.append(item)
            } else {
                messages.append(.object(["role": .string(type ?? "item")]))  // no text to rewrite, but it keeps its number
            }
            labels.append("\(labels.count + 1 - first) \(item["role"]?.stringValue ?? type ?? "?")")
        }
        let (rewritten, report) = compress(messages: messages)
        let parts = labels.indices.map { RequestCompression.Part(label: labels[$0], before: report.before[$0], after: report.after[$0]) }
        guard report.saved > 0 else { return RequestCompression(parts: parts) }
        if instructions != nil, let text = rewritten[0]["content"] { request.set("instructions", text) }
        if case .string = input {
            request.set("input", rewritten[first]["content"] ?? input)
        } else {
            var out = items
            for i in out.indices {
                guard let content = rewritten[first + i]["content"], content != .null else { continue }
                out[i].set(out[i]["type"]?.stringValue == "function_call_output" ? "output" : "content", content)
            }
            request.set("input", .array(out))
        }
        return RequestCompression(parts: parts)
    }
}

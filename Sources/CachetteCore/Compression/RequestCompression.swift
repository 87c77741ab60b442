/// What compressing one request did: each part's tokens before and after.
public struct RequestCompression: Sendable, Equatable {
    public struct Part: Sendable, Equatable {
        /// `1 user`, `2 assistant`, … for messages; `prompt` for a text completion.
        public var label: String
        public var before: Int
        public var after: Int
    }

    public var parts: [Part] = []
    public var tally: CompressionTally { CompressionTally(before: parts.reduce(0) { $0 + $1.before }, after: parts.reduce(0) { $0 + $1.after }) }
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

/// Token usage counted locally, for an answer the upstream sent without `usage`:
/// the prompt from the request (chat messages, a prompt, an input string, or a
/// Responses request's `instructions` and `input`) and the completion from the
/// answer's message contents, texts or Responses output.
package enum UsageCounter {
    public static func count(request: JSONValue, answer: JSONValue, model: String) -> TokenUsage? {
        do {
            if answer["object"]?.stringValue == "response" { return try response(request: request, answer: answer, model: model) }
            let prompt: Int
            if let messages = request["messages"]?.arrayValue {
                prompt = try TokenCounter.count(messages: messages, model: model).tokens
            } else if let text = request["prompt"]?.stringValue ?? request["input"]?.stringValue {
                prompt = try TokenCounter.count(text: text, model: model).tokens
            } else {
                return nil
            }
            var completion = 0
            for choice in answer["choices"]?.arrayValue ?? [] {
                if let text = choice["message"]?["content"]?.stringValue ?? choice["text"]?.stringValue {
                    completion += try TokenCounter.count(text: text, model: model).tokens
                }
            }
            return TokenUsage(promptTokens: prompt, completionTokens: completion)
        } catch {
            return nil
        }
    }

    /// The text of `instructions` and every `input` item, against the text of every
    /// `output` item.
    private static func response(request: JSONValue, answer: JSONValue, model: String) throws(Vocabulary.LoadError) -> TokenUsage {
        var prompt = 0
        for text in [request["instructions"]?.stringValue].compactMap({ $0 }) + ResponseItems.texts(of: request["input"]) {
            prompt += try TokenCounter.count(text: text, model: model).tokens
        }
        var completion = 0
        for text in ResponseItems.texts(of: answer["output"]) {
            completion += try TokenCounter.count(text: text, model: model).tokens
        }
        return TokenUsage(promptTokens: prompt, completionTokens: completion)
    }
}

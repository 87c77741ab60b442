/// Token usage counted locally, for an answer the upstream sent without `usage`:
/// the prompt from the request (chat messages, a prompt or an input string) and the
/// completion from the answer's message contents or texts.
public enum UsageCounter {
    public static func count(request: JSONValue, answer: JSONValue, model: String) -> TokenUsage? {
        do {
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
}

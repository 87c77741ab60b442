/// Counts the prompt tokens of text or chat messages for a model.
///
/// Chat messages follow OpenAI's published rules (the cookbook's
/// `num_tokens_from_messages`): 3 tokens of framing per message (4 for
/// gpt-3.5-turbo-0301), the tokens of every field's value, 1 more for a `name`
/// (one less for 0301, whose name replaces the role), and 3 for priming the reply.
/// Text parts of multi-part content are counted; images, audio and structured values
/// (tool calls) make the count `estimated`, as does a model with an unknown encoding.
package struct TokenCount: Sendable, Equatable {
    public var tokens: Int
    public var encoding: TokenEncoding
    package var estimated: Bool

    package init(tokens: Int, encoding: TokenEncoding, estimated: Bool) {
        self.tokens = tokens
        self.encoding = encoding
        self.estimated = estimated
    }
}

package enum TokenCounter {
    public static func count(text: String, model: String) throws(Vocabulary.LoadError) -> TokenCount {
        let (encoding, estimated) = TokenEncoding.forModel(model)
        return TokenCount(tokens: try Tokenizer.shared(encoding).count(text), encoding: encoding, estimated: estimated)
    }

    public static func count(messages: [JSONValue], model: String) throws(Vocabulary.LoadError) -> TokenCount {
        let (encoding, unknownModel) = TokenEncoding.forModel(model)
        let tokenizer = try Tokenizer.shared(encoding)
        let legacy = model.hasSuffix("gpt-3.5-turbo-0301")
        var estimated = unknownModel
        var tokens = 3  // every reply is primed with <|start|>assistant<|message|>
        for message in messages {
            tokens += legacy ? 4 : 3
            for member in message.members ?? [] {
                tokens += count(member.value, tokenizer, estimated: &estimated)
                if member.key == "name" { tokens += legacy ? -1 : 1 }
            }
        }
        return TokenCount(tokens: tokens, encoding: encoding, estimated: estimated)
    }

    private static func count(_ value: JSONValue, _ tokenizer: Tokenizer, estimated: inout Bool) -> Int {
        switch value {
        case .string(let text):
            return tokenizer.count(text)
        case .null:
            return 0
        case .array(let parts) where parts.allSatisfy({ $0.members != nil }):
            // Multi-part content: the text parts are exact, anything else is not counted here.
            var total = 0
            for part in parts {
                if let text = part["text"]?.stringValue {
                    total += tokenizer.count(text)
                } else {
                    estimated = true
                }
            }
            return total
        default:
            // Tool calls and other structures: their JSON text is an estimate of what the model sees.
            estimated = true
            return tokenizer.count(value.jsonString)
        }
    }
}

/// OpenAI's `prompt_cache_key` for a chat or Responses request that has none. OpenAI
/// routes requests with the same key and prefix to the same machine, where the prompt
/// cache lives; without one, requests that share a long prefix are spread out and read
/// it less. The key is derived from the credential and the stable prefix (the tools,
/// then the leading system and developer messages, or `instructions`), so requests that
/// share a prefix share a key, and unrelated traffic does not pile onto one key (OpenAI
/// spreads a key past about 15 requests a minute).
package enum PromptCacheKey {
    /// OpenAI caches prompts of at least this many tokens.
    package static let minimumTokens = 1024
    /// A prompt this long (in UTF-8 bytes of its texts) has 1,024 tokens in any text
    /// that is not a long run of one character; shorter ones are counted.
    static let surelyLongBytes = 16 * 1024
    static let prefix = "cachette-"

    /// Sets `prompt_cache_key` in `request` when it has none and its prompt is long
    /// enough; returns whether it did. `credential` is hashed, never sent.
    package static func add(to request: inout JSONValue, responses: Bool, credential: String, tokenizer: Tokenizer) -> Bool {
        guard case .object(var members) = request, !members.contains(where: { $0.key == "prompt_cache_key" }) else { return false }
        let prompt = responses ? ["instructions", "input", "tools"] : ["messages", "tools"]
        var texts: [String] = []
        for member in members where prompt.contains(member.key) { strings(in: member.value, into: &texts) }
        guard long(texts, tokenizer: tokenizer) else { return false }
        // The prefix, which may be long, through XXH3; the credential only through SHA-256.
        let model = request["model"]?.stringValue ?? ""
        let stable = CacheKey(hashing: stablePrefix(request, responses: responses))
        let hashed = Array(credential.utf8) + [0] + Array(model.utf8) + [0] + stable.bytes
        let digest = hashed.withUnsafeBytes { SHA256.hex($0) }
        members.append(.init("prompt_cache_key", .string(prefix + digest.prefix(32))))
        request = .object(members)
        return true
    }

    /// The tools, then the leading system and developer messages (chat) or the
    /// instructions (Responses), serialized: what stays the same turn after turn.
    static func stablePrefix(_ request: JSONValue, responses: Bool) -> [UInt8] {
        var prefix = request["tools"]?.serialized() ?? []
        prefix.append(0)
        if responses {
            prefix += request["instructions"]?.serialized() ?? []
        } else {
            for message in request["messages"]?.arrayValue ?? [] {
                guard let role = message["role"]?.stringValue, role == "system" || role == "developer" else { break }
                prefix += message.serialized()
            }
        }
        return prefix
    }

    /// At least `minimumTokens`: too few bytes cannot be, many bytes surely are, and
    /// the rest are counted until the count gets there.
    static func long(_ texts: [String], tokenizer: Tokenizer) -> Bool {
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        if bytes < minimumTokens { return false }
        if bytes >= surelyLongBytes { return true }
        var tokens = 0
        for text in texts {
            tokens += tokenizer.count(text)
            if tokens >= minimumTokens { return true }
        }
        return false
    }

    static func strings(in value: JSONValue, into texts: inout [String]) {
        switch value {
        case .string(let text): texts.append(text)
        case .array(let items): for item in items { strings(in: item, into: &texts) }
        case .object(let members): for member in members { strings(in: member.value, into: &texts) }
        default: break
        }
    }
}

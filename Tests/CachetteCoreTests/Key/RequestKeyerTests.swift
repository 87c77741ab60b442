@testable import CachetteCore
import Testing

/// A small deterministic generator, so property failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes a value with random key order, whitespace, number spellings and escapes.
struct Respeller {
    var rng: SplitMix64

    mutating func ws() -> String { ["", " ", "\n", "\t ", "  \r\n"].randomElement(using: &rng)! }

    mutating func write(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let text): return respellNumber(text)
        case .string(let s): return respellString(s)
        case .array(let items): return "[" + ws() + items.map { write($0) }.joined(separator: ws() + "," + ws()) + ws() + "]"
        case .object(let members):
            let parts = members.shuffled(using: &rng).map { respellString($0.key) + ws() + ":" + ws() + write($0.value) }
            return "{" + ws() + parts.joined(separator: "," + ws()) + ws() + "}"
        }
    }

    mutating func respellNumber(_ text: String) -> String {
        guard let i = Int(text) else { return text }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return "\(i).0"
        case 1: return "\(i)e0"
        case 2: return "\(i * 10)e-1"
        default: return text
        }
    }

    mutating func respellString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += Bool.random(using: &rng) ? "\\n" : "\\u000a"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            case _ where scalar.isASCII && Int.random(in: 0..<5, using: &rng) == 0:
                out += String(format: "\\u%04X", scalar.value)
            case "/": out += Bool.random(using: &rng) ? "\\/" : "/"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

enum Generator {
    static func value(_ rng: inout SplitMix64, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int.random(in: -1000...1000, using: &rng))
        case 3: return .string(string(&rng))
        case 4: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in value(&rng, depth: depth + 1) })
        default:
            var seen = Set<String>()
            var members: [JSONValue.Member] = []
            for _ in 0..<Int.random(in: 0...5, using: &rng) {
                let key = string(&rng)
                if seen.insert(key).inserted { members.append(.init(key, value(&rng, depth: depth + 1))) }
            }
            return .object(members)
        }
    }

    static func string(_ rng: inout SplitMix64) -> String {
        let alphabet = Array("abcXYZ019 _-\"\\/\né😀\t")
        return String((0..<Int.random(in: 0...8, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    static func chatRequest(_ rng: inout SplitMix64) -> JSONValue {
        .object([
            "model": .string(["gpt-4o", "gpt-4o-mini", "o3"].randomElement(using: &rng)!),
            "messages": .array(
                (0..<Int.random(in: 1...4, using: &rng)).map { _ in
                    .object(["role": .string("user"), "content": .string(string(&rng))])
                }),
            "temperature": .number(["0", "0.2", "1"].randomElement(using: &rng)!),
            "extra": value(&rng),
        ])
    }
}

@Suite("Request keys")
struct RequestKeyerTests {
    let keyer = RequestKeyer()

    func key(_ text: String, route: String = "/v1/chat/completions", scope: String = "sk-a", keyer: RequestKeyer? = nil) throws -> KeyedRequest {
        try (keyer ?? self.keyer).key(route: route, scope: scope, body: Array(text.utf8))
    }

    @Test("property: re-spelling a request (key order, whitespace, number and string spellings) never changes its key")
    func respellingKeepsKey() throws {
        var rng = SplitMix64(state: 0xC0FFEE)
        for _ in 0..<500 {
            let request = Generator.chatRequest(&rng)
            let plain = request.jsonString
            var respeller = Respeller(rng: SplitMix64(state: rng.next()))
            let respelled = respeller.write(request)
            #expect(try key(plain).key == key(respelled).key, "\(plain) vs \(respelled)")
        }
    }

    static let base =
        #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"top_p":1,"max_tokens":50,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"auto","response_format":{"type":"text"},"seed":1,"n":1,"stop":["\n"]}"#

    @Test(
        "property: changing any output-affecting field changes the key",
        arguments: [
            "model", "messages", "temperature", "top_p", "max_tokens", "tools", "tool_choice", "response_format", "seed", "n",
            "stop", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "max_completion_tokens",
            "reasoning_effort", "parallel_tool_calls", "functions", "function_call", "modalities", "prediction", "audio",
            "prompt", "input", "dimensions", "encoding_format", "suffix", "best_of", "echo",
        ])
    func changedFieldChangesKey(field: String) throws {
        // A stable seed: String.hashValue changes from run to run.
        var rng = SplitMix64(state: field.utf8.reduce(7) { $0 &* 31 &+ UInt64($1) })
        let baseValue = try JSONValue.parse(Self.base)
        let baseKey = try key(Self.base).key
        var seen: Set<CacheKey> = [baseKey]
        for _ in 0..<20 {
            var members = baseValue.members!
            // The model must stay a non-empty string without control characters or the request is refused outright.
            let printable = Generator.string(&rng).unicodeScalars.filter { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) }
            var replacement = field == "model" ? .string("m-" + String(String.UnicodeScalarView(printable))) : Generator.value(&rng)
            if let existing = members.first(where: { $0.key == field })?.value, existing == replacement { replacement = .string("changed") }
            members.removeAll { $0.key == field }
            members.append(.init(field, replacement))
            let changed = JSONValue.object(members).jsonString
            let keyed = try key(changed)
            #expect(keyed.key != baseKey, "\(field) = \(replacement.jsonString)")
            seen.insert(keyed.key)
        }
        #expect(seen.count > 1)
    }

    @Test("volatile fields never change the key", arguments: RequestKeyer.volatileFields)
    func volatileFieldsIgnored(field: String) throws {
        let baseKey = try key(Self.base).key
        var members = try JSONValue.parse(Self.base).members!
        members.append(.init(field, .object(["anything": .int(1)])))
        #expect(try key(JSONValue.object(members).jsonString).key == baseKey)
    }

    @Test("route and credential scope are part of the key")
    func routeAndScope() throws {
        let body = #"{"model":"m","input":"x"}"#
        #expect(try key(body, route: "/v1/embeddings").key != key(body, route: "/v1/completions").key)
        #expect(try key(body, scope: "sk-a").key != key(body, scope: "sk-b").key)
        #expect(try key(body, scope: "").key == key(body, scope: "").key)
    }

    @Test("key_fields: prompt keeps only the model and the prompt")
    func promptMode() throws {
        let prompt = RequestKeyer(keyFields: .prompt)
        let a = try key(#"{"model":"m","messages":[1],"temperature":0}"#, keyer: prompt)
        let b = try key(#"{"temperature":1,"messages":[1],"seed":3,"model":"m"}"#, keyer: prompt)
        let c = try key(#"{"model":"m","messages":[2]}"#, keyer: prompt)
        #expect(a.key == b.key)
        #expect(a.key != c.key)
    }

    @Test("the keyer reports the model and the stream flag")
    func metadata() throws {
        let keyed = try key(#"{"stream":true,"model":"gpt-\u0034o","messages":[]}"#)
        #expect(keyed.model == "gpt-4o")
        #expect(keyed.stream)
        #expect(try key(#"{"stream":false,"model":"m"}"#).stream == false)
        #expect(try key(#"{"stream":true,"model":"m"}"#).key == key(#"{"model":"m"}"#).key)
    }

    @Test(
        "bad bodies are refused with a code",
        arguments: [
            ("", "invalid_json"), ("[1]", "invalid_request_body"), ("\"s\"", "invalid_request_body"), ("{", "invalid_json"),
            (#"{"messages":[]}"#, "missing_model"), (#"{"model":""}"#, "missing_model"), (#"{"model":null}"#, "missing_model"),
            (#"{"model":"m"}x"#, "invalid_json"),
        ])
    func refusals(body: String, code: String) {
        #expect { try key(body) } throws: { ($0 as? InvalidRequest)?.code == code }
    }

    @Test("the hex form is 32 digits and round-trips")
    func hexForm() throws {
        let k = try key(#"{"model":"m"}"#).key
        #expect(k.hex.count == 32)
        #expect(CacheKey(hex: k.hex) == k)
        #expect(CacheKey(bytes: k.bytes) == k)
    }
}

@Suite("Texts left out of the key")
struct KeyIgnoreTests {
    static func messages(system: String) -> String {
        #"{"model":"claude-sonnet-4-6","max_tokens":64,"system":\#(system),"messages":[{"role":"user","content":"hi"}]}"#
    }

    static func key(_ body: String, ignore: KeyIgnore = KeyIgnore()) throws -> CacheKey {
        try RequestKeyer(ignore: ignore).key(route: "/v1/messages", scope: "sk-a", body: Array(body.utf8)).key
    }

    @Test("Claude Code's billing header block is left out: requests that differ only in cch share a key, others do not")
    func billingHeader() throws {
        let prompt = #"{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}"#
        func body(_ cch: String) -> String {
            Self.messages(system: #"[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.3; cch=\#(cch);"},\#(prompt)]"#)
        }
        let first = try Self.key(body("a1b2c"))
        #expect(try Self.key(body("f00d5")) == first)
        // The key is that of the request without the block.
        #expect(try Self.key(Self.messages(system: "[\(prompt)]")) == first)
        #expect(try Self.key(Self.messages(system: #"[{"type":"text","text":"You are someone else."}]"#)) != first)
        // A system string that is only the header, and a chat system message holding it.
        #expect(try Self.key(Self.messages(system: #""x-anthropic-billing-header: cch=1""#)) == Self.key(Self.messages(system: "[]")))
        func chat(_ system: String) -> String {
            #"{"model":"gpt-4o","messages":[\#(system){"role":"user","content":"hi"}]}"#
        }
        #expect(
            try Self.key(chat(#"{"role":"system","content":"x-anthropic-billing-header: cch=1"},"#))
                == Self.key(chat(#"{"role":"system","content":[{"type":"text","text":"x-anthropic-billing-header: cch=2"}]},"#)))
        #expect(try Self.key(chat(#"{"role":"system","content":"x-anthropic-billing-header: cch=1"},"#)) == Self.key(chat("")))
        // The same text from the user is part of the prompt.
        #expect(try Self.key(chat(#"{"role":"user","content":"x-anthropic-billing-header: cch=1"},"#)) != Self.key(chat("")))
    }

    @Test("cache.key_ignore: whole texts matching a glob are left out, escapes and leading * included; nothing else changes")
    func patterns() throws {
        let ignore = KeyIgnore(patterns: ["request-id: *", #"*"quoted" stamp"#])
        func body(_ text: String) -> String { Self.messages(system: #"[{"type":"text","text":"\#(text)"},{"type":"text","text":"Be brief."}]"#) }
        let plain = try Self.key(Self.messages(system: #"[{"type":"text","text":"Be brief."}]"#), ignore: ignore)
        #expect(try Self.key(body("request-id: 42"), ignore: ignore) == plain)
        #expect(try Self.key(body(#"at 12:00 \"quoted\" stamp"#), ignore: ignore) == plain)
        #expect(try Self.key(body("request-id: 42"), ignore: KeyIgnore()) != plain, "not ignored without the pattern")
        #expect(try Self.key(body("a request-id: 42"), ignore: ignore) != plain, "a glob matches the whole text")
        // A request with nothing ignored keys exactly as before.
        let untouched = Self.messages(system: #"[{"type":"text","text":"Be brief."}]"#)
        let canonical = Array("/v1/messages".utf8) + [0] + Array("sk-a".utf8) + [0] + (try CanonicalJSONWriter.canonicalize(Array(untouched.utf8)))
        #expect(try Self.key(untouched, ignore: ignore) == CacheKey(hashing: canonical))
    }
}

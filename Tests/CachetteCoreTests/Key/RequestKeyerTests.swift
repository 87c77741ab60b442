@testable import CachetteCore
import Testing

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

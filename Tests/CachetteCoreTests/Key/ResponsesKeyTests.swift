import CachetteCore
import Testing

@Suite("Responses request keys")
struct ResponsesKeyTests {
    let keyer = RequestKeyer(volatileFields: RequestKeyer.responsesVolatileFields)
    static let route = "/v1/responses"

    static let base =
        #"{"model":"gpt-5-mini","input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]}],"instructions":"Be brief.","previous_response_id":"resp_1","conversation":"conv_1","tools":[{"type":"function","name":"f","parameters":{}}],"tool_choice":"auto","parallel_tool_calls":true,"text":{"format":{"type":"text"},"verbosity":"low"},"reasoning":{"effort":"low"},"max_output_tokens":100,"temperature":1,"top_p":1,"truncation":"disabled","include":["reasoning.encrypted_content"],"prompt":{"id":"pmpt_1","variables":{"city":"Paris"}},"store":true}"#

    func key(_ text: String, keyer: RequestKeyer? = nil) throws -> KeyedRequest {
        try (keyer ?? self.keyer).key(route: Self.route, scope: "sk-a", body: Array(text.utf8))
    }

    func with(_ field: String, _ value: JSONValue) throws -> String {
        var members = try JSONValue.parse(Self.base).members!
        members.removeAll { $0.key == field }
        members.append(.init(field, value))
        return JSONValue.object(members).jsonString
    }

    @Test(
        "everything that shapes the answer is in the key, store included",
        arguments: [
            "model", "input", "instructions", "previous_response_id", "conversation", "tools", "tool_choice", "parallel_tool_calls",
            "text", "reasoning", "max_output_tokens", "temperature", "top_p", "truncation", "include", "prompt", "store",
        ])
    func shapingFields(field: String) throws {
        let changed = try with(field, field == "model" ? .string("gpt-5") : field == "store" ? .bool(false) : .string("other"))
        #expect(try key(changed).key != key(Self.base).key, "\(field)")
    }

    @Test("delivery, bookkeeping and billing fields stay out of the key", arguments: RequestKeyer.responsesVolatileFields)
    func volatileFields(field: String) throws {
        #expect(try key(with(field, .object(["anything": .int(1)]))).key == key(Self.base).key)
    }

    @Test("Responses and chat keep their own volatile lists: store changes only a Responses key")
    func storeIsPerRoute() throws {
        #expect(!RequestKeyer.responsesVolatileFields.contains("store"))
        #expect(RequestKeyer.volatileFields.contains("store"))
        let chat = RequestKeyer()
        let stored = try with("store", .bool(true)), unstored = try with("store", .bool(false))
        #expect(try key(stored, keyer: chat).key == key(unstored, keyer: chat).key)
        #expect(try key(stored).key != key(unstored).key)
    }

    @Test("background: true is reported, so the request is never cached")
    func background() throws {
        #expect(try key(with("background", .bool(true))).background)
        #expect(try key(with("background", .bool(false))).background == false)
        #expect(try key(Self.base).background == false)
    }

    @Test("key_fields: prompt keeps instructions and the response chain")
    func promptMode() throws {
        let prompt = RequestKeyer(keyFields: .prompt, volatileFields: RequestKeyer.responsesVolatileFields)
        #expect(try key(with("temperature", .int(0)), keyer: prompt).key == key(Self.base, keyer: prompt).key)
        for field in ["instructions", "previous_response_id", "conversation", "input"] {
            #expect(try key(with(field, .string("x")), keyer: prompt).key != key(Self.base, keyer: prompt).key, "\(field)")
        }
    }
}

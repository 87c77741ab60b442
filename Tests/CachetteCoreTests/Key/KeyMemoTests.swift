@testable import CachetteCore
import Testing

/// A repeated body is keyed by one hash: the memo must answer with the keyer's own key,
/// and only for the same scope and the same bytes.
@Suite("Key memo")
struct KeyMemoTests {
    let keyer = RequestKeyer()

    final class Passes {
        var count = 0
    }

    /// Keys `text` under `scope` through `memo`, counting the keyer's passes.
    func key(_ memo: KeyMemo, _ text: String, scope: String, passes: Passes) throws -> KeyedRequest {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { raw in
            try Result { () throws(InvalidRequest) in
                try memo.keyed(scope: scope, body: raw) { () throws(InvalidRequest) in
                    passes.count += 1
                    return try keyer.key(route: "/v1/chat/completions", scope: scope, body: raw)
                }
            }.get()
        }
    }

    @Test("a repeated body under the same scope is the keyer's key without a second pass; another scope or body is keyed anew")
    func remembers() throws {
        let memo = KeyMemo()
        let passes = Passes()
        let body = #"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
        let first = try key(memo, body, scope: "sk-a", passes: passes)
        let again = try key(memo, body, scope: "sk-a", passes: passes)
        #expect(passes.count == 1)
        #expect(again.key == first.key && again.model == "gpt-4o" && again.stream)
        #expect(again.key == (try keyer.key(route: "/v1/chat/completions", scope: "sk-a", body: Array(body.utf8))).key)

        let other = try key(memo, body, scope: "sk-b", passes: passes)
        #expect(passes.count == 2 && other.key != first.key)
        // The same request spelled otherwise: other bytes, keyed again, to the same key.
        let respelled = try key(memo, body.replacingOccurrences(of: ",", with: ", "), scope: "sk-a", passes: passes)
        #expect(passes.count == 3 && respelled.key == first.key)
    }

    @Test("a refused body is refused every time, never remembered")
    func refusals() throws {
        let memo = KeyMemo()
        let passes = Passes()
        for _ in 0..<2 {
            #expect(throws: InvalidRequest.self) { try key(memo, #"{"model":"#, scope: "sk-a", passes: passes) }
        }
        #expect(passes.count == 2)
    }

    @Test("property: with one slot, keys of many scopes and bodies never answer for one another")
    func crowded() throws {
        let memo = KeyMemo(slots: 1)
        let passes = Passes()
        var rng = SplitMix64(state: 0x5EED)
        var seen: [String: CacheKey] = [:]
        for _ in 0..<300 {
            let scope = "sk-\(rng.next() % 4)"
            let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"\#(rng.next() % 5)"}]}"#
            let keyed = try key(memo, body, scope: scope, passes: passes)
            let expected = try keyer.key(route: "/v1/chat/completions", scope: scope, body: Array(body.utf8)).key
            #expect(keyed.key == expected)
            seen[scope + body] = expected
        }
        #expect(seen.count > 1 && passes.count < 300)
    }
}

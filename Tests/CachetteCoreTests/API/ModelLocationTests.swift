@testable import CachetteCore
import Testing

@Suite("Where a request names its model")
struct ModelLocationTests {
    static let gemini = ModelLocation.path(after: "/v1beta/models/")
    static let contents = Array(#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#.utf8)

    @Test("a path location reads the segment up to the method, or nothing")
    func pathSegment() {
        #expect(Self.gemini.model(inPath: "/v1beta/models/gemini-2.5-flash:generateContent") == "gemini-2.5-flash")
        #expect(Self.gemini.model(inPath: "/v1beta/models/gemini-2.5-pro/operations") == "gemini-2.5-pro")
        #expect(Self.gemini.model(inPath: "/v1beta/models/") == "")
        #expect(Self.gemini.model(inPath: "/v1/chat/completions") == nil)
        #expect(ModelLocation.body(member: "model").model(inPath: "/v1beta/models/x:generateContent") == nil)
    }

    @Test("a keyer for a path location takes the model from the path, and the body's model member names nothing")
    func keyerReadsThePath() throws {
        let keyer = RequestKeyer(model: Self.gemini)
        let keyed = try keyer.key(route: "/v1beta/models/gemini-2.5-flash:generateContent", scope: "k", body: Self.contents)
        #expect(keyed.model == "gemini-2.5-flash")
        let other = try keyer.key(route: "/v1beta/models/gemini-2.5-pro:generateContent", scope: "k", body: Self.contents)
        #expect(other.key != keyed.key)
        let named = Array(#"{"model":"gpt-4o","contents":[]}"#.utf8)
        #expect(try keyer.key(route: "/v1beta/models/gemini-2.5-pro:generateContent", scope: "k", body: named).model == "gemini-2.5-pro")
        #expect(throws: InvalidRequest.self) { try keyer.key(route: "/v1beta/models/:generateContent", scope: "k", body: Self.contents) }
    }

    @Test("a body location reads its own member, and a request without it is refused")
    func keyerReadsTheMember() throws {
        let keyer = RequestKeyer(model: .body(member: "engine"))
        #expect(try keyer.key(route: "/v1/x", scope: "k", body: Array(#"{"engine":"e1","model":"m"}"#.utf8)).model == "e1")
        #expect(throws: InvalidRequest.self) { try keyer.key(route: "/v1/x", scope: "k", body: Array(#"{"model":"m"}"#.utf8)) }
        #expect(try RequestKeyer().key(route: "/v1/x", scope: "k", body: Array(#"{"model":"m"}"#.utf8)).model == "m")
    }
}

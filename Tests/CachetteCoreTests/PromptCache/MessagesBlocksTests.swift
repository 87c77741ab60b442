@testable import CachetteCore
import Testing

@Suite("Anthropic Messages blocks: render order, spans, markers the client placed")
struct MessagesBlocksTests {
    static func blocks(_ body: String, scope: String = "k", model: String = "claude-sonnet-4-6") -> MessagesBlocks? {
        Array(body.utf8).withUnsafeBytes { MessagesBlocks($0, scope: scope, model: model) }
    }

    static func text(_ body: String, _ block: MessagesBlocks.Block) -> String {
        String(decoding: Array(body.utf8)[block.span], as: UTF8.self)
    }

    @Test("tools, then system, then each message's blocks, whatever order the members come in")
    func renderOrder() throws {
        let body =
            #"{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"yo"}]}],"system":"Be brief.","model":"m","tools":[{"name":"a","input_schema":{}},{}]}"#
        let map = try #require(Self.blocks(body))
        #expect(
            map.blocks.map { Self.text(body, $0) } == [
                #"{"name":"a","input_schema":{}}"#, "{}", #""Be brief.""#, #""hi""#,
                #"{"type":"thinking","thinking":"t","signature":"s"}"#, #"{"type":"text","text":"yo"}"#,
            ])
        #expect(map.stableEnd == 2)
        #expect(map.blocks.map(\.isStable) == [true, true, true, false, false, false])
        #expect(map.blocks.map(\.markable) == [true, true, true, true, false, true])
        #expect(map.blocks.map(\.isString) == [false, false, true, true, false, false])
        #expect(map.blocks[1].isEmptyObject && !map.blocks[0].isEmptyObject)
        #expect(!map.clientMarked)
    }

    @Test("a cache_control member anywhere, however its key is spelled, is the client's own steering")
    func clientMarked() throws {
        let marked = [
            #"{"cache_control":{"type":"ephemeral"},"messages":[{"role":"user","content":"hi"}]}"#,
            #"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":[{"type":"text","text":"r","cache_control":{"type":"ephemeral"}}]}]}]}"#,
            #"{"tools":[{"name":"a","cache\u005fcontrol":{"type":"ephemeral"}}],"messages":[]}"#,
            #"{"system":[{"type":"text","text":"s","cache_control":null}],"messages":[]}"#,
        ]
        for body in marked { #expect(try #require(Self.blocks(body)).clientMarked, "\(body)") }
        // The words in a text are not a member.
        let unmarked = #"{"messages":[{"role":"user","content":"set \"cache_control\": {} please"}]}"#
        #expect(try #require(Self.blocks(unmarked)).clientMarked == false)
    }

    @Test("an empty string cannot carry a marker; a body that is not one object, or names a section twice, is left alone")
    func unusable() throws {
        #expect(try #require(Self.blocks(#"{"messages":[{"role":"user","content":""}]}"#)).blocks.map(\.markable) == [false])
        #expect(Self.blocks(#"{"messages":[],"messages":[]}"#) == nil)
        #expect(Self.blocks(#"[1]"#) == nil)
        #expect(Self.blocks(#"{"messages":[{"role":"user","content":"x"}"#) == nil)
        #expect(Self.blocks(#"{"messages":["user"]}"#) == nil)
    }

    @Test("a conversation's next turn shares its prefix hashes; another scope, model, role or place does not")
    func prefixHashes() throws {
        let one = #"{"system":"S","messages":[{"role":"user","content":"q1"}]}"#
        let two = #"{"system":"S","messages":[{"role":"user","content":"q1"},{"role":"assistant","content":"a1"},{"role":"user","content":"q2"}]}"#
        let a = try #require(Self.blocks(one)), b = try #require(Self.blocks(two))
        #expect(Array(b.prefixes.prefix(2)) == a.prefixes)
        #expect(b.prefixes.count == 4)
        #expect(try #require(Self.blocks(one, scope: "other")).prefixes.last != a.prefixes.last)
        #expect(try #require(Self.blocks(one, model: "claude-opus-4-1")).prefixes.last != a.prefixes.last)
        let asAssistant = #"{"system":"S","messages":[{"role":"assistant","content":"q1"}]}"#
        #expect(try #require(Self.blocks(asAssistant)).prefixes.last != a.prefixes.last)
        let asSystem = #"{"system":[{"type":"text","text":"S"}],"messages":[{"role":"user","content":"q1"}]}"#
        let inTools = #"{"tools":[{"type":"text","text":"S"}],"messages":[{"role":"user","content":"q1"}]}"#
        #expect(try #require(Self.blocks(asSystem)).prefixes.last != (try #require(Self.blocks(inTools))).prefixes.last)
    }
}

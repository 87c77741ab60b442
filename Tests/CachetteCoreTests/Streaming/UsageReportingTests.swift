@testable import CachetteCore
import NIOCore
import Synchronization
import Testing

@Suite("Usage is always asked of the upstream")
struct UsageReportingTests {
    @Test("include_usage is set, other stream options and fields are kept")
    func rewrite() throws {
        var rewritten = try JSONValue.parse(#"{"model":"m","stream":true,"stream_options":{"include_obfuscation":false},"temperature":0.70}"#)
        #expect(UsageReporting.request(in: &rewritten))
        #expect(rewritten["stream_options"] == .object(["include_obfuscation": .bool(false), "include_usage": .bool(true)]))
        #expect(rewritten["temperature"] == .number("0.70"), "numbers keep their text")
        var already = try JSONValue.parse(#"{"model":"m","stream_options":{"include_usage":true}}"#)
        #expect(!UsageReporting.request(in: &already), "already set: nothing changed")
        var array = try JSONValue.parse("[1]")
        #expect(!UsageReporting.request(in: &array) && array == .array([.number("1")]))
    }

    @Test("the keyer reads include_usage, and it does not change the key")
    func keyer() throws {
        let keyer = RequestKeyer()
        let plain = try keyer.key(route: "/v1/chat/completions", scope: "", body: Array(#"{"model":"m","stream":true}"#.utf8))
        let asked = try keyer.key(
            route: "/v1/chat/completions", scope: "", body: Array(#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#.utf8))
        #expect(!plain.includeUsage)
        #expect(asked.includeUsage)
        #expect(plain.key == asked.key)
    }
}

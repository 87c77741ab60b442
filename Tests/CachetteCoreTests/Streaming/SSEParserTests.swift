@testable import CachetteCore
import Foundation
import NIOCore
import Testing

@Suite("SSE parsing")
struct SSEParserTests {
    static let stream = "data: {\"a\":1}\n\n: keep-alive\n\nevent: ping\ndata: x\n\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n"

    /// Feeds `text` in pieces of `n` bytes. What stays buffered at the end may only be
    /// the LF of a final CRLF split from its CR, which would lead a next event.
    func events(_ text: String, splitEvery n: Int) -> [SSEEvent] {
        var parser = SSEParser()
        let bytes = Array(text.utf8)
        var out: [SSEEvent] = []
        var i = 0
        while i < bytes.count {
            out += parser.feed(bytes[i..<min(i + n, bytes.count)])
            i += n
        }
        #expect(parser.bufferedBytes == 0 || (parser.bufferedBytes == 1 && text.hasSuffix("\r\n")))
        return out
    }

    @Test("the same events however the bytes are split", arguments: [1, 2, 3, 7, 1000])
    func splits(n: Int) {
        let all = events(Self.stream, splitEvery: n)
        #expect(all.map(\.isComment) == [false, true, false, false, false])
        let got = all.filter { !$0.isComment }
        #expect(got.map(\.data) == [#"{"a":1}"#, "x", "line one\nline two", "[DONE]"])
        #expect(got[1].name == "ping")
        #expect(got.last?.isDone == true)
        // Raw bytes, the keep-alive's included, give back the original stream exactly.
        #expect(String(decoding: all.flatMap(\.raw), as: UTF8.self) == Self.stream)
    }

    @Test("CRLF and CR line endings", arguments: ["\r\n", "\r"])
    func lineEndings(eol: String) {
        let text = "data: one\(eol)\(eol)data:two\(eol)\(eol)"
        for n in [1, 2, 100] {
            #expect(events(text, splitEvery: n).map(\.data) == ["one", "two"])
        }
    }

    @Test("an event is not complete before its blank line")
    func incomplete() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data: a\nd".utf8)).isEmpty)
        #expect(parser.feed(Array("ata: b\n".utf8)).isEmpty)
        #expect(parser.feed(Array("\n".utf8)).map(\.data) == ["a\nb"])
    }
}

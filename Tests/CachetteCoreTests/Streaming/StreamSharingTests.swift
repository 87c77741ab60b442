@testable import CachetteCore
import NIOCore
import Synchronization
import Testing

private func events(_ texts: [String], usageAt: Int? = nil) -> [StreamRecorder.Event] {
    texts.enumerated().map { StreamRecorder.Event(bytes: ByteBuffer(string: $1), isUsage: $0 == usageAt) }
}

private func strings(_ next: StreamBroadcast.Next) -> [String]? {
    guard case .events(let batch) = next else { return nil }
    return batch.map { String(buffer: $0) }
}

@Suite("Stream broadcast")
struct StreamBroadcastTests {
    @Test("a late joiner gets the backlog in one batch, then follows live, with the usage event only on request")
    func lateJoiner() async throws {
        let broadcast = StreamBroadcast(capacity: 1 << 20)
        let first = try #require(broadcast.subscribe(includeUsage: false))
        await broadcast.publish(events(["a", "b"]))
        #expect(strings(await broadcast.next(first)) == ["a", "b"])
        let late = try #require(broadcast.subscribe(includeUsage: true))
        await broadcast.publish(events(["u"], usageAt: 0))
        #expect(strings(await broadcast.next(late)) == ["a", "b", "u"])
        #expect(strings(await broadcast.next(first)) == [], "the usage chunk is filtered out, the position still moves")

        // A reader waiting for more is woken by the next publish.
        async let waiting = broadcast.next(first)
        try await Task.sleep(for: .milliseconds(20))
        await broadcast.publish(events(["c"]))
        #expect(strings(await waiting) == ["c"])
        broadcast.finish(trailer: ByteBuffer(string: "error"))
        guard case .end(let trailer) = await broadcast.next(first) else { Issue.record("expected the end"); return }
        #expect(trailer.map { String(buffer: $0) } == "error")
        #expect(strings(await broadcast.next(late)) == ["c"], "what is left comes before the end")
        guard case .end = await broadcast.next(late) else { Issue.record("expected the end"); return }
    }

    @Test("giving up the recording closes joining and drops what every reader has taken")
    func stopRetaining() async throws {
        let broadcast = StreamBroadcast(capacity: 1 << 20)
        let reader = try #require(broadcast.subscribe(includeUsage: false))
        await broadcast.publish(events(["a", "b"]))
        async let closed: Void = broadcast.closedToJoiners()
        broadcast.stopRetaining()
        await closed
        #expect(broadcast.subscribe(includeUsage: false) == nil)
        #expect(strings(await broadcast.next(reader)) == ["a", "b"])
        await broadcast.publish(events(["c"]))
        #expect(strings(await broadcast.next(reader)) == ["c"])
    }

    @Test("a reader a capacity behind that takes nothing is cut off while the fast one keeps going")
    func slowReaderIsCut() async throws {
        let broadcast = StreamBroadcast(capacity: 10)
        let slow = try #require(broadcast.subscribe(includeUsage: false))
        let fast = try #require(broadcast.subscribe(includeUsage: false))
        broadcast.stopRetaining()
        var cut = 0
        for i in 0..<6 {
            cut += await broadcast.publish(events(["xxxx\(i)"]), patience: .milliseconds(50))
            #expect(strings(await broadcast.next(fast)) == ["xxxx\(i)"])
        }
        #expect(cut == 1)
        guard case .cut = await broadcast.next(slow) else { Issue.record("the slow reader should be cut"); return }
        #expect(broadcast.readerCount == 1)
    }

    @Test("when even the fastest reader is a capacity behind, publishing waits for it")
    func backpressure() async throws {
        let broadcast = StreamBroadcast(capacity: 10)
        let reader = try #require(broadcast.subscribe(includeUsage: false))
        broadcast.stopRetaining()
        await broadcast.publish(events(["12345"]))
        let published = Mutex(false)
        let publishing = Task {
            defer { published.withLock { $0 = true } }
            return await broadcast.publish(events(["67890"]))
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(!published.withLock { $0 }, "still waiting for the reader")
        #expect(strings(await broadcast.next(reader)) == ["12345", "67890"])
        #expect(await publishing.value == 0)
    }

    @Test("a reader that takes nothing for the patience period is cut, and the producer goes on")
    func patience() async throws {
        let broadcast = StreamBroadcast(capacity: 10)
        let stuck = try #require(broadcast.subscribe(includeUsage: false))
        let cut = await broadcast.publish(events(["0123456789ab"]), patience: .milliseconds(50))
        #expect(cut == 1)
        guard case .cut = await broadcast.next(stuck) else { Issue.record("expected a cut"); return }
    }

    @Test("a cancelled reader leaves, and the last to leave is reported")
    func leaving() async throws {
        let broadcast = StreamBroadcast(capacity: 1 << 20)
        let a = try #require(broadcast.subscribe(includeUsage: false))
        let b = try #require(broadcast.subscribe(includeUsage: false))
        let waiting = Task { await broadcast.next(a) }
        try await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        guard case .end(nil) = await waiting.value else { Issue.record("a cancelled wait ends"); return }
        #expect(broadcast.readerCount == 1)
        #expect(broadcast.leave(b))
    }
}

@Suite("Stream recorder")
struct StreamRecorderTests {
    static let chunk =
        #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#
    static let finish =
        #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#
    static let usage =
        #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}"#

    func feed(_ text: String, limit: Int = 1 << 20, splitEvery n: Int = 7) -> (StreamRecorder, [StreamRecorder.Event]) {
        var recorder = StreamRecorder(limit: limit)
        var out: [StreamRecorder.Event] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            out += recorder.feed(ByteBuffer(bytes: bytes[i..<min(i + n, bytes.count)]))
            i += n
        }
        return (recorder, out)
    }

    @Test("a clean stream is recorded with its usage chunk marked, and assembles")
    func clean() throws {
        let text = "data: \(Self.chunk)\n\n: ping\n\ndata: \(Self.finish)\n\ndata: \(Self.usage)\n\ndata: [DONE]\n\n"
        let (recorder, relayed) = feed(text)
        #expect(relayed.count == 5, "the comment is relayed")
        #expect(relayed.map(\.isUsage) == [false, false, false, true, false])
        guard case .complete(let recording?, let answer?, let usage) = recorder.end() else { Issue.record("expected a recording"); return }
        #expect(recording.count == 4, "the comment is not recorded")
        #expect(recording.usageEvent == 2)
        #expect(usage == TokenUsage(promptTokens: 4, completionTokens: 2))
        #expect(answer["choices"]?.arrayValue?.first?["message"]?["content"] == .string("hi"))
        let withoutUsage = String(buffer: recording.replay(includeUsage: false))
        #expect(withoutUsage == "data: \(Self.chunk)\n\ndata: \(Self.finish)\n\ndata: [DONE]\n\n")
        #expect(
            String(buffer: recording.replay(includeUsage: true))
                == text.replacingOccurrences(of: ": ping\n\n", with: ""))
    }

    @Test("no [DONE], an error event, or a read error: a failure, nothing to store")
    func failures() {
        let cut = feed("data: \(Self.chunk)\n\n").0
        guard case .failed(let reason) = cut.end() else { Issue.record("no [DONE] must fail"); return }
        #expect(reason.contains("[DONE]"))

        let errored = feed("data: \(Self.chunk)\n\ndata: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\ndata: [DONE]\n\n").0
        guard case .failed(let message) = errored.end() else { Issue.record("an error event must fail"); return }
        #expect(message.contains("boom"))
        #expect(errored.sentErrorEvent)

        let named = feed("event: error\ndata: {\"type\":\"overloaded_error\"}\n\ndata: [DONE]\n\n").0
        guard case .failed = named.end() else { Issue.record("an event named error must fail"); return }
        #expect(!named.sentErrorEvent)

        guard case .failed(let dropped) = feed("data: \(Self.chunk)\n\ndata: [DONE]\n\n").0.end(error: "connection reset") else {
            Issue.record("a read error must fail"); return
        }
        #expect(dropped == "connection reset")
    }

    @Test("a stream over the limit, or one that does not assemble, completes but is not kept")
    func notKept() {
        let long = feed("data: \(Self.chunk)\n\ndata: \(Self.chunk)\n\ndata: [DONE]\n\n", limit: 200).0
        #expect(!long.isRecording)
        guard case .complete(nil, nil, _) = long.end() else { Issue.record("over the limit is not kept"); return }
        let notJSON = feed("data: hello\n\ndata: [DONE]\n\n").0
        guard case .complete(nil, nil, _) = notJSON.end() else { Issue.record("non-JSON is not kept"); return }
    }

    @Test("events after [DONE] are ignored")
    func afterDone() {
        let (_, relayed) = feed("data: \(Self.chunk)\n\ndata: [DONE]\n\ndata: \(Self.chunk)\n\n")
        #expect(relayed.count == 2)
    }
}

@Suite("Recorded stream format")
struct RecordedStreamTests {
    @Test("a recording encodes and decodes exactly, and damaged input is refused")
    func roundTrip() throws {
        var stream = RecordedStream()
        stream.append(Array("data: a\n\n".utf8))
        stream.append(Array("data: u\n\n".utf8), isUsage: true)
        stream.append(Array("data: [DONE]\n\n".utf8))
        let decoded = try RecordedStream(decoding: stream.encoded())
        #expect(decoded == stream)
        #expect(decoded.usageEvent == 1)
        #expect(String(buffer: decoded.replay(includeUsage: false)) == "data: a\n\ndata: [DONE]\n\n")
        #expect(String(buffer: decoded.replay(includeUsage: true)) == "data: a\n\ndata: u\n\ndata: [DONE]\n\n")
        #expect(try RecordedStream(decoding: RecordedStream().encoded()).count == 0)

        var truncated = stream.encoded()
        truncated.moveWriterIndex(to: truncated.writerIndex - 1)
        #expect(throws: RecordedStream.FormatError.self) { try RecordedStream(decoding: truncated) }
        #expect(throws: RecordedStream.FormatError.self) { try RecordedStream(decoding: ByteBuffer(string: "XXXX")) }
    }
}

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

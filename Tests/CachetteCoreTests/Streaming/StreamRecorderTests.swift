@testable import CachetteCore
import NIOCore
import Synchronization
import Testing

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

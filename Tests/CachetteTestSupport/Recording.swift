import CachetteCore
import NIOCore

/// A recorder fed a whole SSE text: what the recording stages of the tests start from.
package func recorder(_ sse: String, limit: Int = 1 << 20, format: APIFormat = .openai) -> (StreamRecorder, [StreamRecorder.Event]) {
    var recorder = StreamRecorder(limit: limit, format: format)
    let events = recorder.feed(ByteBuffer(string: sse))
    return (recorder, events)
}

/// The same, for a dialect that is not a format's own (Responses' typed events).
package func recorder(_ sse: String, limit: Int = 1 << 20, dialect: any StreamDialect.Type) -> (StreamRecorder, [StreamRecorder.Event]) {
    var recorder = StreamRecorder(limit: limit, dialect: dialect)
    let events = recorder.feed(ByteBuffer(string: sse))
    return (recorder, events)
}

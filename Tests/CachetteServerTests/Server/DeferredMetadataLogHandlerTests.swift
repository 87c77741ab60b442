import CachetteServer
import Logging
import Synchronization
import Testing

@Suite("DeferredMetadataLogHandler")
struct DeferredMetadataLogHandlerTests {
    final class Lines: TextOutputStream, Sendable {
        let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
    }

    /// A logged line without its leading timestamp.
    private static func logged(_ make: (Lines) -> any LogHandler, _ body: (inout Logger) -> Void) -> String {
        let lines = Lines()
        var logger = Logger(label: "cachette", factory: { _ in make(lines) })
        body(&logger)
        return lines.text.withLock { $0 }.split(separator: "\n").map { $0.drop(while: { $0 != " " }) }.joined(separator: "\n")
    }

    @Test("writes what StreamLogHandler writes: level, metadata set on the logger and on the line, message")
    func sameLines() {
        let steps: (inout Logger) -> Void = { logger in
            logger[metadataKey: "hb.request.id"] = "42"
            logger.info("hidden below warning")
            logger.warning("upstream answer not stored", metadata: ["reason": "not JSON"])
            logger[metadataKey: "hb.request.id"] = nil
            logger.error("cache flush failed")
        }
        let plain = Self.logged(
            { lines in
                var handler = StreamLogHandler(label: "cachette", stream: lines, metadataProvider: nil)
                handler.logLevel = .warning
                return handler
            }, steps)
        let deferred = Self.logged(
            { DeferredMetadataLogHandler(StreamLogHandler(label: "cachette", stream: $0, metadataProvider: nil), level: .warning) }, steps)
        #expect(deferred == plain)
        #expect(deferred.contains("hb.request.id=42 reason=not JSON"))
        #expect(deferred.contains("error cachette: [CachetteServerTests] cache flush failed"))
        #expect(!deferred.contains("hidden"))
    }

    @Test("the level can be changed after the handler is made")
    func level() {
        let text = Self.logged({ DeferredMetadataLogHandler(StreamLogHandler(label: "c", stream: $0, metadataProvider: nil), level: .error) }) {
            $0.warning("not yet")
            $0.logLevel = .debug
            $0.debug("now")
        }
        #expect(!text.contains("not yet"))
        #expect(text.contains("now"))
    }
}

import Logging

/// swift-log's `StreamLogHandler`, formatting its metadata only when a line is written.
/// `StreamLogHandler` formats it on every change, and Hummingbird sets a request id on
/// every request's logger: at the default level nothing is logged, yet that formatting
/// was about 3% of a request's CPU, hit or miss.
package struct DeferredMetadataLogHandler: LogHandler {
    private var stream: StreamLogHandler
    package var metadata: Logger.Metadata = [:]

    /// Writes to standard error at `level` and above.
    package init(label: String, level: Logger.Level) {
        self.init(StreamLogHandler.standardError(label: label), level: level)
    }

    /// Wraps `stream`, whose own metadata is replaced by this handler's.
    package init(_ stream: StreamLogHandler, level: Logger.Level) {
        self.stream = stream
        self.stream.logLevel = level
    }

    package var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    package var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var stream = stream
        stream.metadata = metadata
        stream.log(event: event)
    }
}

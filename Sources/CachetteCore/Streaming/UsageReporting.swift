import NIOCore

/// Streams are forwarded with `stream_options.include_usage: true`, whatever the client
/// asked, so every recorded stream knows its token usage. The client's own choice only
/// decides whether it is sent the usage chunk.
public enum UsageReporting {
    /// The request body with `include_usage` set and the client's other stream options kept.
    /// A body that is not a JSON object is returned as it is (the keyer refuses those anyway).
    public static func requested(in body: ByteBuffer) -> ByteBuffer {
        guard var request = try? JSONValue.parse(body.readableBytesView), request.members != nil else { return body }
        var options = request["stream_options"] ?? .object([])
        if options.members == nil { options = .object([]) }
        guard options["include_usage"] != .bool(true) else { return body }
        options.set("include_usage", .bool(true))
        request.set("stream_options", options)
        return ByteBuffer(bytes: request.serialized())
    }
}

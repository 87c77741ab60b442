/// Streams are forwarded with `stream_options.include_usage: true`, whatever the client
/// asked, so every recorded stream knows its token usage. The client's own choice only
/// decides whether it is sent the usage chunk.
package enum UsageReporting {
    /// Sets `include_usage` in a parsed request; false when it was already set (or the
    /// request is not an object), and nothing changed.
    public static func request(in request: inout JSONValue) -> Bool {
        guard request.members != nil else { return false }
        var options = request["stream_options"] ?? .object([])
        if options.members == nil { options = .object([]) }
        guard options["include_usage"] != .bool(true) else { return false }
        options.set("include_usage", .bool(true))
        request.set("stream_options", options)
        return true
    }
}

import CachetteCore
import NIOCore

/// A cached request's body on its way upstream. It is parsed at most once, and only
/// when something needs it: compression, asking a stream for usage, translation, or
/// counting the tokens of an answer that reported none. Edits apply to the parsed
/// value, which is serialized once, only if one changed it.
struct OutboundBody: Sendable {
    /// As the client sent it.
    let original: ByteBuffer
    /// Nil until first parsed; then the client's request, or nil inside if it is not JSON.
    private var parsed: JSONValue??
    private var edited: JSONValue?

    init(_ original: ByteBuffer) {
        self.original = original
    }

    /// The request as the client sent it, parsed on first use; nil if it is not JSON.
    mutating func client() -> JSONValue? {
        switch parsed {
        case .some(let value): return value
        case .none:
            let value = try? JSONValue.parse(original.readableBytesView)
            parsed = .some(value)
            return value
        }
    }

    /// The request as it will be sent.
    var current: JSONValue? {
        mutating get { edited ?? client() }
    }

    /// Changes the request; `change` says whether it did.
    mutating func edit(_ change: (inout JSONValue) -> Bool) {
        guard var value = current else { return }
        if change(&value) { edited = value }
    }

    /// What is sent: the original bytes unless an edit changed the request.
    var bytes: ByteBuffer {
        edited.map { ByteBuffer(bytes: $0.serialized()) } ?? original
    }
}

/// A malformed JSON document, with the byte offset where reading stopped.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    package let reason: String
    package let offset: Int

    package init(_ reason: String, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

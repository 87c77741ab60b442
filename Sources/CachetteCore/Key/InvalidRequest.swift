/// A request the sidecar refuses before it reaches the cache or the upstream (HTTP 400).
public struct InvalidRequest: Error, Sendable, Equatable {
    public let message: String
    package let code: String
    package let param: String?

    package init(_ message: String, code: String, param: String? = nil) {
        self.message = message
        self.code = code
        self.param = param
    }
}

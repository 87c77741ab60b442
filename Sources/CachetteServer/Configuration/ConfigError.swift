/// A setting that cannot be used. Its description is the one line start-up prints.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let key: String
    public let problem: String

    public init(_ key: String, _ problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String { "config error: \(key): \(problem)" }
}

/// A setting that cannot be used. Its description is the one line start-up prints.
package struct ConfigError: Error, Sendable, CustomStringConvertible {
    package let key: String
    package let problem: String

    package init(_ key: String, _ problem: String) {
        self.key = key
        self.problem = problem
    }

    package var description: String { "config error: \(key): \(problem)" }
}

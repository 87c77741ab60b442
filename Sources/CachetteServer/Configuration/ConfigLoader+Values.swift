import CachetteCore
import CachetteShared
import Foundation
import Logging
import Yams

/// Reads one YAML value of each kind, naming its key in every error.
extension ConfigLoader {
    static func mapping(_ node: Node, _ key: String) throws(ConfigError) -> [(String, Node)] {
        guard case .mapping(let mapping) = node else { throw ConfigError(key, "expected a mapping of settings") }
        var pairs: [(String, Node)] = []
        for (k, v) in mapping {
            guard let name = k.string else { throw ConfigError(key, "keys must be plain names") }
            pairs.append((name, v))
        }
        return pairs
    }

    static func scalar(_ node: Node, _ key: String) throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw ConfigError(key, "expected a single value") }
        return scalar.string
    }

    static func string(_ node: Node, _ key: String) throws(ConfigError) -> String {
        try scalar(node, key)
    }

    /// An upstream's base URL. One with `user:password@` is refused without being echoed:
    /// it would be printed in logs and is never sent (keys go in `api_key`).
    static func checkURL(_ text: String, _ key: String) throws(ConfigError) {
        if let authority = text.split(separator: "://", maxSplits: 1).dropFirst().first?.split(separator: "/", maxSplits: 1).first,
            authority.contains("@")
        {
            throw ConfigError(key, "must not hold a user name or password (user:password@); put the key in api_key, or api_key: env:NAME")
        }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host?.isEmpty == false
        else {
            throw ConfigError(key, "expected an http:// or https:// URL, got \"\(text)\"")
        }
    }

    static func bool(_ node: Node, _ key: String) throws(ConfigError) -> Bool {
        guard let b = node.bool else { throw ConfigError(key, "expected true or false, got \"\(try scalar(node, key))\"") }
        return b
    }

    static func positiveInt(_ node: Node, _ key: String) throws(ConfigError) -> Int {
        let text = try scalar(node, key)
        guard let value = Int(text), value > 0 else { throw ConfigError(key, "expected a positive whole number, got \"\(text)\"") }
        return value
    }

    static func port(_ text: String, _ key: String) throws(ConfigError) -> Int {
        guard let value = Int(text), (0...65535).contains(value) else {
            throw ConfigError(key, "expected a port number between 0 and 65535, got \"\(text)\"")
        }
        return value
    }

    static func duration(_ node: Node, _ key: String) throws(ConfigError) -> Duration {
        let text = try scalar(node, key)
        guard let d = ConfigValues.duration(text) else {
            throw ConfigError(key, "expected a duration such as 30s, 15m, 24h or 7d, got \"\(text)\"")
        }
        return d
    }

    static func size(_ node: Node, _ key: String) throws(ConfigError) -> Int {
        let text = try scalar(node, key)
        guard let s = ConfigValues.byteSize(text) else {
            throw ConfigError(key, "expected a size such as 10MiB, 1GiB or 1048576, got \"\(text)\"")
        }
        return s
    }

    static func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ key: String) throws(ConfigError) -> T
    where T.RawValue == String {
        let text = try scalar(node, key)
        guard let value = T(rawValue: text) else {
            throw ConfigError(key, "expected one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
        }
        return value
    }

    /// `env:NAME` reads the secret from the environment so it need not sit in the file.
    static func secret(_ text: String, _ key: String, _ env: [String: String]) throws(ConfigError) -> String? {
        if text.isEmpty { return nil }
        guard text.hasPrefix("env:") else { return text }
        let name = String(text.dropFirst(4))
        guard let value = env[name], !value.isEmpty else {
            throw ConfigError(key, "environment variable \(name) is not set")
        }
        return value
    }

    /// A PostgreSQL URL; the error names what is wrong, never the password.
    static func sharedURL(_ text: String, _ key: String) throws(ConfigError) -> SharedURL {
        do {
            return try SharedURL(text)
        } catch {
            throw ConfigError(key, "is not a usable PostgreSQL URL: it \(error.description)")
        }
    }

    static func expandHome(_ path: String) -> String {
        guard path.hasPrefix("~/") else { return path }
        return (ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) + String(path.dropFirst())
    }
}

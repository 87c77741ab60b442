import CachetteCore
import Foundation

/// `postgres://user:password@host:5432/database?sslmode=require`, parsed once. Its
/// password is a secret: `description` and `redacted` never show it, and `redact`
/// scrubs it from any text (a driver's error) before that text is logged or shown.
package struct SharedURL: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int
    package var username: String
    package var password: String?
    package var database: String?
    package var tls: TLSMode
    /// `sslrootcert`: a PEM file of the CAs to trust, for `verify-ca` and `verify-full`.
    package var rootCertificate: String?

    /// libpq's `sslmode` values.
    package enum TLSMode: String, Sendable, CaseIterable {
        case disable
        /// TLS when the server offers it, plain otherwise (libpq's default; `allow` means the same here).
        case prefer
        /// TLS always; the certificate is not checked (as libpq's `require`).
        case require
        /// TLS with the certificate checked against the CAs, not the host name.
        case verifyCA = "verify-ca"
        /// TLS with the certificate and the host name checked.
        case verifyFull = "verify-full"
    }

    package struct Invalid: Error, CustomStringConvertible {
        package let description: String
    }

    package init(_ text: String) throws(Invalid) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql"
        else { throw Invalid(description: "is not of the form postgres://user:password@host:port/database") }
        guard let host = components.host, !host.isEmpty else { throw Invalid(description: "names no host") }
        guard let user = components.user, !user.isEmpty else { throw Invalid(description: "names no user") }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw Invalid(description: "has port \(port), outside 1-65535") }
        self.host = host
        self.port = port
        username = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? nil : (path.removingPercentEncoding ?? path)
        tls = .prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                let value = item.value ?? ""
                if value == "allow" {
                    tls = .prefer
                } else if let mode = TLSMode(rawValue: value) {
                    tls = mode
                } else {
                    throw Invalid(description: "has sslmode=\(value); expected disable, allow, prefer, require, verify-ca or verify-full")
                }
            case "sslrootcert": rootCertificate = item.value
            default: throw Invalid(description: "has the parameter \(item.name); only sslmode and sslrootcert are understood")
            }
        }
    }

    /// The URL with its password replaced by `***`.
    package var redacted: String {
        var text = "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)"
        if let database { text += "/\(database)" }
        if tls != .prefer { text += "?sslmode=\(tls.rawValue)" }
        return text
    }

    package var description: String { redacted }

    /// `text` with every occurrence of the password replaced by `***`.
    package func redact(_ text: String) -> String {
        guard let password, !password.isEmpty else { return text }
        return text.replacingOccurrences(of: password, with: "***")
    }
}

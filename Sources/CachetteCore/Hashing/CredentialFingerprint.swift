/// A short tag for a credential, for log lines: a keyed hash (SHA-256 over a secret
/// salt and the credential), so a weak key cannot be recovered from logs by hashing
/// guesses. The salt is random per cache database (`CachetteDatabase.fingerprintSalt`), so
/// one credential keeps its tag across restarts of the same sidecar.
package struct CredentialFingerprint: Sendable {
    private let salt: [UInt8]

    package init(salt: UInt64) {
        self.salt = withUnsafeBytes(of: salt.littleEndian) { Array($0) }
    }

    /// A fresh random salt, for a sidecar without a database.
    package static func random() -> CredentialFingerprint {
        CredentialFingerprint(salt: UInt64.random(in: .min ... .max))
    }

    public func of(_ credential: String) -> String {
        if credential.isEmpty { return "anonymous" }
        let digest = (salt + Array(credential.utf8)).withUnsafeBytes { SHA256.hex($0) }
        return "cred:" + digest.prefix(16)
    }
}

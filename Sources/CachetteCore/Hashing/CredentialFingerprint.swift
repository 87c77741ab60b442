import CXXHash

/// A short, non-reversible tag for a credential, for log lines and diagnostics.
/// The key itself never leaves the request; this is what gets logged instead.
public enum CredentialFingerprint {
    public static func of(_ credential: String) -> String {
        if credential.isEmpty { return "anonymous" }
        var utf8 = Array(credential.utf8)
        let h = utf8.withUnsafeMutableBytes { XXH3_64bits_withSeed($0.baseAddress, $0.count, 0x6361_6368_6574_7465) }
        let hex = String(h, radix: 16)
        return "cred:" + String(repeating: "0", count: 16 - hex.count) + hex.prefix(16)
    }
}

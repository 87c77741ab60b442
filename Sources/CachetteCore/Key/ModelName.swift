/// What a `model` from a client may be. Model names become ledger rows, /stats keys
/// and metric labels, so an unbounded or unprintable one is refused up front.
package enum ModelName {
    public static let maxBytes = 256

    /// Why `name` is not a model name, or nil when it is one.
    package static func problem(_ name: String) -> InvalidRequest? {
        if name.utf8.count > maxBytes {
            return InvalidRequest("The model name is longer than \(maxBytes) bytes.", code: "invalid_model", param: "model")
        }
        // C0 and C1 controls and DEL: no model is named with them, and logs must not carry them.
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            return InvalidRequest("The model name contains control characters.", code: "invalid_model", param: "model")
        }
        return nil
    }
}

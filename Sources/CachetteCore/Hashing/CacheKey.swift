import CXXHash

/// A cache entry's identity: XXH3-128 of the route, the credential scope and the
/// canonical request. Shown as 32 lowercase hex digits, stored as 16 big-endian bytes.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// XXH3-128 of the bytes.
    public init(hashing bytes: UnsafeRawBufferPointer) {
        let h = XXH3_128bits(bytes.baseAddress, bytes.count)
        self.init(high: h.high64, low: h.low64)
    }

    public init(hashing bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { CacheKey(hashing: $0) }
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { high = high << 8 | UInt64(b) } else { low = low << 8 | UInt64(b) }
        }
        self.init(high: high, low: low)
    }

    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 32, let high = UInt64(hex.prefix(16), radix: 16), let low = UInt64(hex.suffix(16), radix: 16) else {
            return nil
        }
        self.init(high: high, low: low)
    }

    /// The canonical big-endian form, as XXH128_canonicalFromHash writes it.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        return out
    }

    package var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 32) { buffer in
            for i in 0..<16 {
                let word = i < 8 ? high : low
                let byte = UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64(i % 8)))
                buffer[2 * i] = digits[Int(byte >> 4)]
                buffer[2 * i + 1] = digits[Int(byte & 0xF)]
            }
            return 32
        }
    }

    public var description: String { hex }
}

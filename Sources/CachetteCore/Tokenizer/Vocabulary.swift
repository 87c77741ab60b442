import CXXHash
import Foundation

/// A tiktoken vocabulary: token bytes ↔ rank. Lookups by byte slice go through an
/// open-addressing table over one arena of token bytes, so loading makes no
/// per-token allocations and a lookup hashes the slice once (XXH3-64).
public final class Vocabulary: Sendable {
    public enum LoadError: Error, CustomStringConvertible {
        case missing(String)
        case checksum(String, expected: String, got: String)
        case malformed(String, line: Int)

        public var description: String {
            switch self {
            case .missing(let name): "vocabulary \(name) is not in the package"
            case .checksum(let name, let expected, let got): "vocabulary \(name) is damaged: SHA-256 \(got), expected \(expected)"
            case .malformed(let name, let line): "vocabulary \(name) is malformed at line \(line)"
            }
        }
    }

    /// Token bytes back to back; token `r` is `arena[starts[r]..<starts[r + 1]]`.
    private let arena: [UInt8]
    private let starts: [Int32]
    /// Rank + 1 per slot, 0 for empty; the length is a power of two.
    private let slots: [UInt32]
    private let mask: Int
    /// The rank of each single byte, which every vocabulary has.
    let byteRanks: [UInt32]

    public var count: Int { starts.count - 1 }

    /// Parses tiktoken's format: one `base64(bytes) rank` per line, ranks 0..<N in order.
    public init(tiktoken data: UnsafeRawBufferPointer, name: String) throws(LoadError) {
        var arena: [UInt8] = []
        arena.reserveCapacity(data.count / 2)
        var starts: [Int32] = [0]
        starts.reserveCapacity(data.count / 12)
        var line = 1, i = 0
        let n = data.count
        while i < n {
            var end = i
            while end < n && data[end] != 0x0A { end += 1 }
            if end > i {
                var space = i
                while space < end && data[space] != 0x20 { space += 1 }
                guard space < end, Self.decodeBase64(data, i..<space, into: &arena) else { throw .malformed(name, line: line) }
                var rank = 0
                for j in (space + 1)..<end {
                    let d = Int(data[j]) - 48
                    guard d >= 0 && d <= 9 else { throw .malformed(name, line: line) }
                    rank = rank * 10 + d
                }
                guard rank == starts.count - 1 else { throw .malformed(name, line: line) }
                starts.append(Int32(arena.count))
            }
            i = end + 1
            line += 1
        }
        let count = starts.count - 1
        var capacity = 1
        while capacity < count * 2 { capacity <<= 1 }
        var slots = [UInt32](repeating: 0, count: capacity)
        var byteRanks = [UInt32](repeating: UInt32.max, count: 256)
        arena.withUnsafeBufferPointer { a in
            for rank in 0..<count {
                let start = Int(starts[rank]), length = Int(starts[rank + 1]) - start
                if length == 1 { byteRanks[Int(a[start])] = UInt32(rank) }
                var slot = Int(truncatingIfNeeded: XXH3_64bits(a.baseAddress! + start, length)) & (capacity - 1)
                while slots[slot] != 0 { slot = (slot + 1) & (capacity - 1) }
                slots[slot] = UInt32(rank + 1)
            }
        }
        guard !byteRanks.contains(UInt32.max) else { throw .malformed(name, line: line) }
        self.arena = arena
        self.starts = starts
        self.slots = slots
        self.mask = capacity - 1
        self.byteRanks = byteRanks
    }

    /// The rank of a byte string, if it is a token.
    @inline(__always)
    func rank(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        if bytes.count == 1 { return byteRanks[Int(bytes[0])] }
        var slot = Int(truncatingIfNeeded: XXH3_64bits(bytes.baseAddress, bytes.count)) & mask
        return arena.withUnsafeBufferPointer { a -> UInt32? in
            while true {
                let entry = slots[slot]
                if entry == 0 { return nil }
                let rank = Int(entry - 1)
                let start = Int(starts[rank]), length = Int(starts[rank + 1]) - start
                if length == bytes.count && memcmp(a.baseAddress! + start, bytes.baseAddress!, length) == 0 {
                    return UInt32(rank)
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The bytes of token `rank`.
    public func bytes(of rank: Int) -> ArraySlice<UInt8> {
        arena[Int(starts[rank])..<Int(starts[rank + 1])]
    }

    // MARK: Loading the shipped files

    /// Reads a shipped vocabulary and checks its SHA-256.
    public static func load(_ encoding: TokenEncoding) throws(LoadError) -> Vocabulary {
        guard let url = ResourceBundle.url("CachetteCore", encoding.rawValue, "tiktoken"),
            let data = try? Data(contentsOf: url, options: .mappedIfSafe)
        else { throw .missing(encoding.rawValue) }
        return try data.withUnsafeBytes { raw in Result { () throws(LoadError) in try load(encoding, from: raw) } }.get()
    }

    /// Parses `data` as the vocabulary of `encoding`, if its SHA-256 is the expected one.
    static func load(_ encoding: TokenEncoding, from data: UnsafeRawBufferPointer) throws(LoadError) -> Vocabulary {
        let digest = SHA256.hex(data)
        guard digest == encoding.sha256 else { throw .checksum(encoding.rawValue, expected: encoding.sha256, got: digest) }
        return try Vocabulary(tiktoken: data, name: encoding.rawValue)
    }

    private static let base64Values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(c)] = UInt8(i)
        }
        return table
    }()

    private static func decodeBase64(_ data: UnsafeRawBufferPointer, _ range: Range<Int>, into out: inout [UInt8]) -> Bool {
        var buffer: UInt32 = 0, bits = 0
        for i in range {
            let c = data[i]
            if c == UInt8(ascii: "=") { break }
            let v = base64Values[Int(c)]
            guard v != 0xFF else { return false }
            buffer = buffer << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return true
    }
}

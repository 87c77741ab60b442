import CZstd
import NIOCore

package enum ZstdError: Error, Sendable, CustomStringConvertible {
    case compressionFailed(String)
    case decompressionFailed(String)
    case unknownContentSize

    package var description: String {
        switch self {
        case .compressionFailed(let why): "zstd compression failed: \(why)"
        case .decompressionFailed(let why): "zstd decompression failed: \(why)"
        case .unknownContentSize: "zstd frame does not record its content size"
        }
    }
}

/// zstd for stored bodies. Frames always carry their content size, so decompression
/// allocates exactly once, straight into the ByteBuffer that will be written out.
public enum Zstd {
    /// One-off compression; the store's writer keeps a `ZstdCompressor` instead.
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32 = 3) throws -> [UInt8] {
        try ZstdCompressor(level: level).compress(input)
    }

    public static func compress(_ buffer: ByteBuffer, level: Int32 = 3) throws -> [UInt8] {
        try buffer.withUnsafeReadableBytes { try compress($0, level: level) }
    }

    /// Refuses frames that claim more than `limit` bytes, so a damaged row cannot make us allocate wildly.
    public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int = 1 << 31) throws -> ByteBuffer {
        try decompress(input, limit: limit) { out, capacity in
            ZSTD_decompress(out, capacity, input.baseAddress, input.count)
        }
    }

    /// Sizes the output from the frame header, then lets `run` decompress into it.
    static func decompress(
        _ input: UnsafeRawBufferPointer, limit: Int, _ run: (UnsafeMutableRawPointer?, Int) -> Int
    ) throws -> ByteBuffer {
        let size = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        // ZSTD_CONTENTSIZE_UNKNOWN and _ERROR are the two largest UInt64 values.
        guard size < UInt64.max - 1 else { throw ZstdError.unknownContentSize }
        guard size <= UInt64(limit) else { throw ZstdError.decompressionFailed("frame claims \(size) bytes") }
        var buffer = ByteBufferAllocator().buffer(capacity: Int(size))
        let written = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Int(size)) { out in
            let n = run(out.baseAddress, Int(size))
            if ZSTD_isError(n) != 0 {
                throw ZstdError.decompressionFailed(String(cString: ZSTD_getErrorName(n)))
            }
            return n
        }
        guard written == Int(size) else { throw ZstdError.decompressionFailed("short frame") }
        return buffer
    }

    public static func decompress(_ input: [UInt8]) throws -> ByteBuffer {
        try input.withUnsafeBytes { try decompress($0) }
    }
}

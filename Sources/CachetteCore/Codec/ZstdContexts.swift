import CZstd
import NIOCore
import Synchronization

/// A reusable compression context. zstd allocates and clears a large workspace for
/// every fresh context, which dominated the cost of compressing a small answer.
/// Not thread-safe: one owner at a time (the store's writer, which is serialised).
package final class ZstdCompressor: @unchecked Sendable {
    private let context: OpaquePointer
    public let level: Int32

    package init(level: Int32) {
        context = ZSTD_createCCtx()
        self.level = level
    }

    deinit { ZSTD_freeCCtx(context) }

    public func compress(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { out in
            ZSTD_compressCCtx(context, out.baseAddress, bound, input.baseAddress, input.count, level)
        }
        if ZSTD_isError(written) != 0 {
            throw ZstdError.compressionFailed(String(cString: ZSTD_getErrorName(written)))
        }
        output.removeSubrange(written...)
        return output
    }

    public func compress(_ buffer: ByteBuffer) throws -> [UInt8] {
        try buffer.withUnsafeReadableBytes { try compress($0) }
    }
}

/// Decompression contexts shared by concurrent readers: borrowed under a lock,
/// used outside it, and returned, so readers never allocate one per read.
package final class ZstdDecompressors: Sendable {
    /// For readers without a pool of their own (the fuzzer).
    public static let shared = ZstdDecompressors()

    private let idle = Mutex<[UnsafeSendableContext]>([])
    private let keep: Int

    package init(keep: Int = 8) {
        self.keep = keep
    }

    deinit {
        idle.withLock { contexts in
            for c in contexts { ZSTD_freeDCtx(c.pointer) }
        }
    }

    public func decompress(_ input: UnsafeRawBufferPointer, limit: Int = 1 << 31) throws -> ByteBuffer {
        let context = idle.withLock { $0.popLast() } ?? UnsafeSendableContext(pointer: ZSTD_createDCtx())
        defer {
            let kept = idle.withLock { contexts -> Bool in
                guard contexts.count < keep else { return false }
                contexts.append(context)
                return true
            }
            if !kept { ZSTD_freeDCtx(context.pointer) }
        }
        return try Zstd.decompress(input, limit: limit) { out, capacity in
            ZSTD_decompressDCtx(context.pointer, out, capacity, input.baseAddress, input.count)
        }
    }

    struct UnsafeSendableContext: @unchecked Sendable {
        let pointer: OpaquePointer
    }
}

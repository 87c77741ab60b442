import NIOCore

/// A stream's events as the upstream sent them, kept for replay: the raw bytes of
/// every event back to back, where each one ends, and which one is the usage chunk
/// (sent only to clients that asked for `stream_options.include_usage`).
public struct RecordedStream: Sendable, Equatable {
    package private(set) var bytes: ByteBuffer
    /// End offset in `bytes` of each event.
    package private(set) var ends: [UInt32]
    package private(set) var usageEvent: Int?

    package init() {
        bytes = ByteBuffer()
        ends = []
    }

    public var count: Int { ends.count }
    package var byteCount: Int { bytes.readableBytes }

    /// Each event's raw bytes, in order.
    package var events: [ByteBuffer] {
        var start = 0
        return ends.map { end in
            defer { start = Int(end) }
            return bytes.getSlice(at: bytes.readerIndex + start, length: Int(end) - start) ?? ByteBuffer()
        }
    }

    public mutating func append(_ raw: some Collection<UInt8>, isUsage: Bool = false) {
        if isUsage { usageEvent = ends.count }
        bytes.writeBytes(raw)
        ends.append(UInt32(bytes.readableBytes))
    }

    /// The bytes a client gets: the recording as it is (a slice, no copy), or without
    /// the usage event. That takes one copy of the rest, which costs less than the two
    /// extra writes (and flushes) that sending two slices would.
    package func replay(includeUsage: Bool) -> ByteBuffer {
        guard let usageEvent, !includeUsage else { return bytes }
        let start = usageEvent == 0 ? 0 : Int(ends[usageEvent - 1])
        let end = Int(ends[usageEvent])
        var out = ByteBuffer()
        out.reserveCapacity(bytes.readableBytes - (end - start))
        out.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex, length: start)!)
        out.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex + end, length: bytes.readableBytes - end)!)
        return out
    }

    // MARK: Storage format

    /// "CSE1", then little-endian u32s: event count, usage event + 1 (0 for none),
    /// each event's end offset; then the event bytes.
    private static let magic: [UInt8] = Array("CSE1".utf8)

    package func encoded() -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(12 + 4 * count + byteCount)
        out.writeBytes(Self.magic)
        out.writeInteger(UInt32(count), endianness: .little)
        out.writeInteger(UInt32(usageEvent.map { $0 + 1 } ?? 0), endianness: .little)
        for end in ends { out.writeInteger(end, endianness: .little) }
        out.writeImmutableBuffer(bytes)
        return out
    }

    package struct FormatError: Error, Equatable {}

    package init(decoding encoded: ByteBuffer) throws(FormatError) {
        var input = encoded
        guard input.readBytes(length: 4) == Self.magic,
            let count = input.readInteger(endianness: .little, as: UInt32.self),
            let usage = input.readInteger(endianness: .little, as: UInt32.self),
            Int(count) <= input.readableBytes / 4
        else { throw FormatError() }
        var ends: [UInt32] = []
        ends.reserveCapacity(Int(count))
        var previous: UInt32 = 0
        for _ in 0..<count {
            guard let end = input.readInteger(endianness: .little, as: UInt32.self), end >= previous else { throw FormatError() }
            ends.append(end)
            previous = end
        }
        guard Int(previous) == input.readableBytes, usage <= count else { throw FormatError() }
        self.bytes = input
        self.ends = ends
        self.usageEvent = usage == 0 ? nil : Int(usage) - 1
    }
}

@testable import CachetteCore
import Foundation
import GRDB
import Logging
import NIOCore
import Testing

@Suite("zstd")
struct ZstdTests {
    @Test("round-trips bodies of every size")
    func roundTrip() throws {
        for size in [0, 1, 100, 65_536, 1 << 20] {
            let input = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 7) }
            let compressed = try input.withUnsafeBytes { try Zstd.compress($0) }
            #expect(Array(try Zstd.decompress(compressed).readableBytesView) == input)
        }
    }

    @Test("reused contexts round-trip many bodies of different sizes, also from concurrent readers")
    func reusedContexts() async throws {
        let compressor = ZstdCompressor(level: 3)
        let decompressors = ZstdDecompressors(keep: 2)
        let inputs = (0..<40).map { n in (0..<(n * 997 % 70_000)).map { UInt8(truncatingIfNeeded: $0 / (n + 1)) } }
        let frames = try inputs.map { input in try input.withUnsafeBytes { try compressor.compress($0) } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (input, frame) in zip(inputs, frames) {
                group.addTask {
                    let output = try frame.withUnsafeBytes { try decompressors.decompress($0) }
                    #expect(Array(output.readableBytesView) == input)
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("damaged input is an error, not a crash")
    func damaged() throws {
        var compressed = try Array("hello hello hello hello".utf8).withUnsafeBytes { try Zstd.compress($0) }
        compressed[compressed.count / 2] ^= 0xFF
        compressed.removeLast(3)
        #expect(throws: ZstdError.self) { try Zstd.decompress(compressed) }
    }
}

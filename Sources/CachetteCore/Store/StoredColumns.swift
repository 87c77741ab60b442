import Foundation
import NIOCore

/// An entry's columns as the SQLite file and the shared tier both hold them, read
/// before anything in them is believed. Both tiers decode an entry through `response`,
/// and so does the fuzzer (`FuzzStoredEntry`).
package struct StoredColumns: Sendable {
    public var status: Int
    public var contentType: String
    public var createdAt: Double
    public var expiresAt: Double
    /// As stored: any value; `response` refuses a count outside `0...TokenUsage.maxCount`.
    public var usage: TokenUsage

    package init(status: Int, contentType: String, createdAt: Double, expiresAt: Double, usage: TokenUsage) {
        self.status = status
        self.contentType = contentType
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usage = usage
    }

    /// The answer the columns and the two zstd frames hold: only a 2xx, no frame
    /// expanded past `limit` bytes (a few KB of row must not become 256 MiB), a
    /// recording whose framing reads back whole, counts no answer could carry refused.
    public func response(body: UnsafeRawBufferPointer?, events: UnsafeRawBufferPointer?, limit: Int) throws -> CachedResponse {
        try response(body: body, events: events, limit: limit, decompressors: .shared)
    }

    public func response(
        body: UnsafeRawBufferPointer?, events: UnsafeRawBufferPointer?, limit: Int, decompressors: ZstdDecompressors
    ) throws -> CachedResponse {
        guard (200..<300).contains(status) else { throw DamagedEntry("status \(status)") }
        guard let body else { throw DamagedEntry("no body") }
        let counts = [usage.promptTokens, usage.completionTokens, usage.cachedPromptTokens, usage.cacheWritePromptTokens]
        guard counts.allSatisfy({ (0...TokenUsage.maxCount).contains($0) }) else { throw DamagedEntry("usage holds a count out of range") }
        do {
            let answer = try decompressors.decompress(body, limit: limit)
            let recording = try events.map { try RecordedStream(decoding: decompressors.decompress($0, limit: limit)) }
            return CachedResponse(
                status: status, contentType: contentType, body: answer, createdAt: createdAt, expiresAt: expiresAt, usage: usage,
                events: recording)
        } catch {
            throw DamagedEntry("\(error)")
        }
    }
}

extension Optional where Wrapped == Data {
    /// The bytes in place, or nil: a column read without a copy.
    package func withBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let self else { return try body(nil) }
        return try self.withUnsafeBytes { try body($0) }
    }
}

extension Optional where Wrapped == ByteBuffer {
    package func withBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let self else { return try body(nil) }
        return try self.withUnsafeReadableBytes { try body($0) }
    }
}

import CachetteCore
import NIOCore

/// An entry's stored columns, as the SQLite file or a shared row could hold them,
/// through the decoder both tiers use (`StoredColumns`) and the shared tier's check
/// (`EntryCheck`), then served as a hit would serve it. Never a trap, never a frame
/// expanded past the limit.
///
/// Input: status (2 bytes), created_at and expires_at (8 bytes each, as Doubles), four
/// counts (8 bytes each), the content type's and the route's choice (1 byte each), the
/// body frame's length (4 bytes), the body frame, then the events frame (if any bytes
/// are left; an empty remainder is no recording).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStoredEntry(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    guard let status = input.readInteger(as: UInt16.self), let created = input.readInteger(as: UInt64.self),
        let expires = input.readInteger(as: UInt64.self)
    else { return 0 }
    var counts: [Int] = []
    for _ in 0..<4 {
        guard let count = input.readInteger(as: Int64.self) else { return 0 }
        counts.append(Int(count))
    }
    guard let type = input.readInteger(as: UInt8.self), let route = input.readInteger(as: UInt8.self),
        let bodyLength = input.readInteger(as: UInt32.self)
    else { return 0 }
    let types = ["application/json", "text/html", "application/vnd.x+json; charset=utf-8", ""]
    let routes = AnswerShape.paths + ["/v1/files"]
    let columns = StoredColumns(
        status: Int(status), contentType: types[Int(type) % types.count], createdAt: Double(bitPattern: created),
        expiresAt: Double(bitPattern: expires),
        usage: TokenUsage(
            promptTokens: counts[0], completionTokens: counts[1], cachedPromptTokens: counts[2], cacheWritePromptTokens: counts[3]))
    let body = input.readSlice(length: min(Int(bodyLength), input.readableBytes)) ?? ByteBuffer()
    let events: ByteBuffer? = input.readableBytes > 0 ? input : nil
    let limit = 1 << 20
    let decoded = body.withUnsafeReadableBytes { body in
        if let events {
            return events.withUnsafeReadableBytes { try? columns.response(body: body, events: $0, limit: limit) }
        }
        return try? columns.response(body: body, events: nil, limit: limit)
    }
    guard let response = decoded else { return 0 }
    if response.body.readableBytes > limit || (response.events?.byteCount ?? 0) > limit { fatalError("a frame grew past its limit") }
    // Served from the SQLite file as it is, from a shared row only once checked.
    let now = 1_800_000_000.0
    for served in [
        response,
        try? EntryCheck(maxBytes: limit).checked(
            NewEntry(route: routes[Int(route) % routes.count], model: "gpt-4o", response: response), now: now
        ).get().response,
    ].compactMap({ $0 }) {
        _ = served.age(at: now)
        _ = served.isFresh(at: now)
        _ = served.events?.replay(includeUsage: true)
        _ = served.events?.replay(includeUsage: false)
        _ = served.events?.events
    }
    return 0
}

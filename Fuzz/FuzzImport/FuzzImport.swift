import CachetteCore
import NIOCore

/// One `cache export` line, through the check `cache import` makes: an entry or a
/// sentence, never a trap. What it accepts is then served as a hit would serve it
/// (body, both replays, Age), and must export and import back to the same entry.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImport(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = UnsafeBufferPointer(start: data, count: size)
    let now = 1_800_000_000.0
    let check = EntryCheck(maxBytes: 1 << 20, maxTTL: 365 * 86_400)
    guard let (key, entry) = try? CacheExport.entry(from: line, check: check, now: now) else { return 0 }
    let response = entry.response
    _ = response.age(at: now)
    _ = response.events?.replay(includeUsage: true)
    _ = response.events?.replay(includeUsage: false)
    _ = response.events?.events
    // An accepted entry is one this build would have stored: it exports and imports back unchanged.
    guard let again = CacheExport.line(key: key, entry: entry) else { fatalError("an accepted entry does not export") }
    guard let (sameKey, same) = try? CacheExport.entry(from: again.dropLast(), check: check, now: now), sameKey == key,
        same.response.body == response.body, same.response.events == response.events,
        same.response.expiresAt == response.expiresAt
    else { fatalError("an accepted entry does not import back as itself") }
    return 0
}

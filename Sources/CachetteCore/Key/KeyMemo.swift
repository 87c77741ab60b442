import Synchronization

/// The keys of recently keyed requests, found by a hash of their raw bytes. A repeated
/// request, which is what a hit is, is then keyed by one pass of XXH3 over its body
/// instead of the keyer's canonicalizing pass. The keyer is a pure function of the
/// scope and the body, so a remembered key is the one it would compute again. A slot
/// answers only when both 128-bit hashes match, the scope's (credential included) and
/// the body's: the same strength as the cache key itself.
package final class KeyMemo: Sendable {
    private struct Slot {
        let scope: CacheKey
        let body: CacheKey
        let keyed: KeyedRequest
    }

    private let slots: Mutex<[Slot?]>
    private let mask: Int

    /// - Parameter slots: how many keys are kept, rounded up to a power of two; a new
    ///   key takes the slot its hashes name, whatever was there.
    package init(slots: Int = 4096) {
        let count = max(1, slots).nextPowerOfTwo
        self.slots = Mutex(Array(repeating: nil, count: count))
        self.mask = count - 1
    }

    /// The remembered key of `body` under `scope`, else `key()`'s, remembered when it
    /// succeeds. A body the keyer refuses is refused again each time.
    package func keyed(
        scope: String, body: UnsafeRawBufferPointer, else key: () throws(InvalidRequest) -> KeyedRequest
    ) throws(InvalidRequest) -> KeyedRequest {
        var scope = scope
        let scopeHash = scope.withUTF8 { CacheKey(hashing: UnsafeRawBufferPointer($0)) }
        let bodyHash = CacheKey(hashing: body)
        let index = Int(truncatingIfNeeded: scopeHash.low ^ bodyHash.low) & mask
        if let slot = slots.withLock({ $0[index] }), slot.scope == scopeHash, slot.body == bodyHash { return slot.keyed }
        let keyed = try key()
        slots.withLock { $0[index] = Slot(scope: scopeHash, body: bodyHash, keyed: keyed) }
        return keyed
    }
}

extension Int {
    fileprivate var nextPowerOfTwo: Int {
        self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount)
    }
}

/// tiktoken's byte-pair merge: repeatedly join the adjacent pair whose joined bytes
/// have the lowest rank (the leftmost on ties) until no pair is a token.
///
/// Short pieces use tiktoken's own scan of a small array. Long ones (a run of one
/// character, a base64 blob) use a heap over a linked list, so the cost stays
/// O(n log n) rather than O(n²).
enum BytePairEncoder {
    static let longPiece = 128

    static func encode(_ piece: UnsafeBufferPointer<UInt8>, _ vocabulary: Vocabulary, into out: inout [UInt32]) {
        if piece.count == 1 {
            out.append(vocabulary.byteRanks[Int(piece[0])])
            return
        }
        if let rank = vocabulary.rank(piece) {
            out.append(rank)
            return
        }
        if piece.count < longPiece {
            mergeByScan(piece, vocabulary, into: &out)
        } else {
            mergeByHeap(piece, vocabulary, into: &out)
        }
    }

    @inline(__always)
    private static func rank(_ piece: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ vocabulary: Vocabulary) -> UInt32 {
        vocabulary.rank(UnsafeBufferPointer(rebasing: piece[start..<end])) ?? .max
    }

    /// tiktoken's `_byte_pair_merge`, as it is.
    static func mergeByScan(_ piece: UnsafeBufferPointer<UInt8>, _ vocabulary: Vocabulary, into out: inout [UInt32]) {
        let n = piece.count
        // (start of part, rank of the pair starting here)
        var parts: [(start: Int, rank: UInt32)] = []
        parts.reserveCapacity(n + 1)
        for i in 0..<(n - 1) { parts.append((i, rank(piece, i, i + 2, vocabulary))) }
        parts.append((n - 1, .max))
        parts.append((n, .max))
        func pairRank(_ i: Int) -> UInt32 {
            i + 3 < parts.count ? rank(piece, parts[i].start, parts[i + 3].start, vocabulary) : .max
        }
        while true {
            var best = UInt32.max, at = 0
            for i in 0..<(parts.count - 1) where parts[i].rank < best {
                best = parts[i].rank
                at = i
            }
            if best == .max { break }
            if at > 0 { parts[at - 1].rank = pairRank(at - 1) }
            parts[at].rank = pairRank(at)
            parts.remove(at: at + 1)
        }
        for i in 0..<(parts.count - 1) {
            out.append(rank(piece, parts[i].start, parts[i + 1].start, vocabulary))
        }
    }

    /// The same merges, in the same order, with a min-heap keyed (rank, start).
    static func mergeByHeap(_ piece: UnsafeBufferPointer<UInt8>, _ vocabulary: Vocabulary, into out: inout [UInt32]) {
        let n = piece.count
        // Parts are identified by their start byte; next[i] is the following part's start.
        var next = Array(1...n)
        var previous = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        // The current rank of the pair starting at each part, to spot stale heap entries.
        var pairRanks = [UInt32](repeating: .max, count: n)
        var heap = MinHeap()
        func pairRank(_ i: Int) -> UInt32 {
            let second = next[i]
            guard second < n else { return .max }
            return rank(piece, i, next[second], vocabulary)
        }
        for i in 0..<(n - 1) {
            pairRanks[i] = pairRank(i)
            if pairRanks[i] != .max { heap.push(pairRanks[i], i) }
        }
        while let (r, i) = heap.pop() {
            guard alive[i], pairRanks[i] == r else { continue }
            // Merge part i with the one after it.
            let removed = next[i]
            alive[removed] = false
            next[i] = next[removed]
            if next[i] < n { previous[next[i]] = i }
            pairRanks[i] = pairRank(i)
            if pairRanks[i] != .max { heap.push(pairRanks[i], i) }
            let before = previous[i]
            if before >= 0 {
                pairRanks[before] = pairRank(before)
                if pairRanks[before] != .max { heap.push(pairRanks[before], before) }
            }
        }
        var i = 0
        while i < n {
            out.append(rank(piece, i, next[i], vocabulary))
            i = next[i]
        }
    }

    /// A binary min-heap of (rank, start), smallest rank first, then leftmost.
    private struct MinHeap {
        private var items: [UInt64] = []

        mutating func push(_ rank: UInt32, _ start: Int) {
            items.append(UInt64(rank) << 32 | UInt64(start))
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard items[child] < items[parent] else { break }
                items.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> (UInt32, Int)? {
            guard let top = items.first else { return nil }
            let last = items.removeLast()
            if !items.isEmpty {
                items[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1, right = left + 1
                    var smallest = parent
                    if left < items.count && items[left] < items[smallest] { smallest = left }
                    if right < items.count && items[right] < items[smallest] { smallest = right }
                    if smallest == parent { break }
                    items.swapAt(parent, smallest)
                    parent = smallest
                }
            }
            return (UInt32(top >> 32), Int(top & 0xFFFF_FFFF))
        }
    }
}

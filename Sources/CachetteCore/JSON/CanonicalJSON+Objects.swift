/// Object building blocks, also used by RequestKeyer for the top level.
extension CanonicalJSONWriter {
    struct ObjectState {
        let outputStart: Int
        let spanBase: Int
        var readAny = false
    }

    struct MemberMark {
        /// Output length before the member and its separator: truncating here drops it.
        let mark: Int
        /// Where the member's key starts.
        let start: Int
    }

    mutating func beginObject() throws(JSONError) -> ObjectState {
        try lexer.expect(UInt8(ascii: "{"), "'{'")
        output.append(UInt8(ascii: "{"))
        return ObjectState(outputStart: output.count, spanBase: spans.count)
    }

    /// Advances to the next member's key; false after the closing brace.
    mutating func nextMember(_ object: inout ObjectState) throws(JSONError) -> Bool {
        lexer.skipWhitespace()
        guard let next = lexer.peek() else { throw lexer.error("unexpected end of input in object") }
        if next == UInt8(ascii: "}") {
            lexer.index += 1
            return false
        }
        if object.readAny {
            guard next == UInt8(ascii: ",") else { throw lexer.error("expected ',' or '}'") }
            lexer.index += 1
            lexer.skipWhitespace()
        }
        object.readAny = true
        guard lexer.peek() == UInt8(ascii: "\"") else { throw lexer.error("expected a string key") }
        return true
    }

    mutating func beginMember(_ object: ObjectState) -> MemberMark {
        let mark = output.count
        if spans.count > object.spanBase { output.append(UInt8(ascii: ",")) }
        return MemberMark(mark: mark, start: output.count)
    }

    /// Writes `"key":value`, leaving the cursor after the value.
    mutating func writeKeyAndValue(depth: Int) throws(JSONError) {
        try lexer.readCanonicalString(into: &output)
        spans.append(output.count)  // the key's end; endMember completes the triple
        lexer.skipWhitespace()
        try lexer.expect(UInt8(ascii: ":"), "':'")
        output.append(UInt8(ascii: ":"))
        lexer.skipWhitespace()
        try writeValue(depth: depth)
    }

    /// The canonical key of the member being written (quotes included).
    func currentKey(_ member: MemberMark) -> ArraySlice<UInt8> {
        output[member.start..<currentKeyEnd]
    }

    /// Where the member being written has its key end; its value follows the colon.
    var currentKeyEnd: Int { spans[spans.count - 1] }

    mutating func endMember(_ member: MemberMark) {
        let keyEnd = spans.removeLast()
        spans.append(member.start)
        spans.append(keyEnd)
        spans.append(output.count)
    }

    /// Forgets the member being written, separator included.
    mutating func dropMember(_ member: MemberMark) {
        spans.removeLast()
        output.removeSubrange(member.mark...)
    }

    mutating func endObject(_ object: ObjectState) {
        let memberCount = (spans.count - object.spanBase) / 3
        defer { spans.removeSubrange(object.spanBase...) }
        if memberCount > 1 && !isStrictlySorted(object, memberCount) {
            rewriteSorted(object, memberCount)
        }
        output.append(UInt8(ascii: "}"))
    }

    private mutating func rewriteSorted(_ object: ObjectState, _ memberCount: Int) {
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: 0..<memberCount)
        if memberCount <= 16 {
            // Insertion sort for the usual small object: no buffer, ties keep input order.
            for i in 1..<memberCount {
                let member = order[i]
                var j = i
                while j > 0, compareKeys(object, order[j - 1], member) > 0 {
                    order[j] = order[j - 1]
                    j -= 1
                }
                order[j] = member
            }
        } else {
            // Large objects (a big logit_bias, a schema) must stay n log n.
            var sorted = order
            sorted.sort { a, b in
                let c = compareKeys(object, a, b)
                return c != 0 ? c < 0 : a < b
            }
            order = sorted
        }
        // Equal keys sit next to each other in input order: the last one wins.
        kept.removeAll(keepingCapacity: true)
        for position in 0..<memberCount
        where position + 1 == memberCount || compareKeys(object, order[position], order[position + 1]) != 0 {
            kept.append(order[position])
        }
        let base = object.outputStart
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: output[base...])
        output.removeSubrange(base...)
        for (position, member) in kept.enumerated() {
            if position > 0 { output.append(UInt8(ascii: ",")) }
            let s = spans[object.spanBase + member * 3] - base
            let e = spans[object.spanBase + member * 3 + 2] - base
            output.append(contentsOf: scratch[s..<e])
        }
    }

    private func isStrictlySorted(_ object: ObjectState, _ count: Int) -> Bool {
        var i = 1
        while i < count {
            if compareKeys(object, i - 1, i) >= 0 { return false }
            i += 1
        }
        return true
    }

    private func compareKeys(_ object: ObjectState, _ a: Int, _ b: Int) -> Int {
        let aStart = spans[object.spanBase + a * 3], aEnd = spans[object.spanBase + a * 3 + 1]
        let bStart = spans[object.spanBase + b * 3], bEnd = spans[object.spanBase + b * 3 + 1]
        let aLen = aEnd - aStart, bLen = bEnd - bStart
        let common = min(aLen, bLen)
        return output.withUnsafeBufferPointer { out in
            for i in 0..<common {
                let x = out[aStart + i], y = out[bStart + i]
                if x != y { return x < y ? -1 : 1 }
            }
            return aLen == bLen ? 0 : (aLen < bLen ? -1 : 1)
        }
    }
}

import CXXHash

/// The blocks of an Anthropic Messages request body in the order Anthropic renders
/// them (each tool, each system block, then each content block of each message), with
/// where each lies in the bytes, so a `cache_control` marker can be added to the bytes
/// as they are, and the hash of every prefix, so steering can recognise a prefix it has
/// forwarded before. One pass of the lexer; no value is built.
package struct MessagesBlocks: Sendable {
    package struct Block: Sendable, Equatable {
        /// The block's bytes: an object, or a string (a `system` or `content` string,
        /// marked as the one text block it stands for).
        package var span: Range<Int>
        package var isString: Bool
        /// An object with no members (a marker then needs no comma).
        package var isEmptyObject: Bool
        /// Anthropic accepts a marker here: not a thinking block, not an empty string,
        /// not a value of another kind.
        package var markable: Bool
        /// Part of tools and system, the prefix that stays the same turn after turn.
        package var isStable: Bool
    }

    package var blocks: [Block] = []
    /// The hash of the prefix through each block, under the scope and model.
    package var prefixes: [CacheKey] = []
    /// The hash of the empty prefix: the scope and model alone.
    public var start: CacheKey
    /// The index of the last tool or system block.
    package var stableEnd: Int?
    /// The request offers tools.
    package var offersTools = false
    /// A `cache_control` member anywhere, at any depth: the client steers itself.
    package var clientMarked = false

    /// Nil when the body is not a JSON object, or names `tools`, `system` or
    /// `messages` twice (which one Anthropic would read is not ours to guess).
    package init?(_ body: UnsafeRawBufferPointer, scope: String, model: String) {
        var seed = Array(scope.utf8)
        seed.append(0)
        seed += model.utf8
        start = CacheKey(hashing: seed)
        let bytes = body.bindMemory(to: UInt8.self)
        var lexer = JSONLexer(bytes)
        var chain = Chain(start)
        do {
            lexer.skipWhitespace()
            try lexer.expect(UInt8(ascii: "{"), "'{'")
            var seen: Set<String> = []
            var sections: [(key: String, range: Range<Int>)] = []
            try lexer.members { lexer, key throws(JSONError) in
                let from = lexer.index
                if key == "cache_control" { clientMarked = true }
                if ["tools", "system", "messages"].contains(key) {
                    guard seen.insert(key).inserted else { throw lexer.error("duplicate \(key)") }
                    try lexer.skipValue(keys: &clientMarked, depth: 1)
                    sections.append((key, from..<lexer.index))
                } else {
                    try lexer.skipValue(keys: &clientMarked, depth: 1)
                }
            }
            // Render order, whatever order the members came in.
            for name in ["tools", "system", "messages"] {
                guard let section = sections.first(where: { $0.key == name }) else { continue }
                var inner = JSONLexer(bytes)
                inner.index = section.range.lowerBound
                switch name {
                case "tools":
                    try inner.elements { lexer throws(JSONError) in try add(&lexer, tag: 1, stable: true, chain: &chain) }
                    offersTools = !blocks.isEmpty
                case "system": try addContent(&inner, tag: 2, stable: true, chain: &chain)
                default:
                    try inner.elements { lexer throws(JSONError) in
                        var role = 0
                        var content: Int?
                        try lexer.expect(UInt8(ascii: "{"), "'{'")
                        try lexer.members { lexer, key throws(JSONError) in
                            if key == "role", lexer.peek() == UInt8(ascii: "\"") {
                                var decoded: [UInt8] = []
                                try lexer.readDecodedString(into: &decoded)
                                role = Self.roleTag(decoded)
                            } else {
                                if key == "content" { content = lexer.index }
                                try lexer.skipValue()
                            }
                        }
                        let end = lexer.index
                        if let content {
                            lexer.index = content
                            try addContent(&lexer, tag: role, stable: false, chain: &chain)
                        }
                        lexer.index = end
                    }
                }
            }
        } catch {
            return nil
        }
    }

    /// A system or content value: a string is one block, an array one per element.
    private mutating func addContent(_ lexer: inout JSONLexer, tag: Int, stable: Bool, chain: inout Chain) throws(JSONError) {
        switch lexer.peek() {
        case UInt8(ascii: "\""):
            let from = lexer.index
            try lexer.skipValue()
            // `""` is two bytes: an empty text block, which Anthropic refuses to mark.
            append(
                Block(span: from..<lexer.index, isString: true, isEmptyObject: false, markable: lexer.index - from > 2, isStable: stable),
                lexer: lexer, tag: tag, chain: &chain)
        case UInt8(ascii: "["):
            try lexer.elements { lexer throws(JSONError) in try add(&lexer, tag: tag, stable: stable, chain: &chain) }
        default:
            try lexer.skipValue()
        }
    }

    /// One block of an array: an object is markable unless it is a thinking block.
    private mutating func add(_ lexer: inout JSONLexer, tag: Int, stable: Bool, chain: inout Chain) throws(JSONError) {
        let from = lexer.index
        guard lexer.peek() == UInt8(ascii: "{") else {
            try lexer.skipValue()
            append(
                Block(span: from..<lexer.index, isString: false, isEmptyObject: false, markable: false, isStable: stable),
                lexer: lexer, tag: tag, chain: &chain)
            return
        }
        var thinking = false
        var empty = true
        lexer.index += 1
        try lexer.members { lexer, key throws(JSONError) in
            empty = false
            if key == "type", lexer.peek() == UInt8(ascii: "\"") {
                var type: [UInt8] = []
                try lexer.readDecodedString(into: &type)
                thinking = type.elementsEqual("thinking".utf8) || type.elementsEqual("redacted_thinking".utf8)
            } else {
                try lexer.skipValue()
            }
        }
        append(
            Block(span: from..<lexer.index, isString: false, isEmptyObject: empty, markable: !thinking, isStable: stable),
            lexer: lexer, tag: tag, chain: &chain)
    }

    private mutating func append(_ block: Block, lexer: JSONLexer, tag: Int, chain: inout Chain) {
        if block.isStable { stableEnd = blocks.count }
        blocks.append(block)
        prefixes.append(chain.add(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(lexer.bytes)[block.span]), tag: tag))
    }

    /// Tags keep apart equal blocks in different places: a tool, a system block, each role.
    static func roleTag(_ role: [UInt8]) -> Int {
        if role.elementsEqual("user".utf8) { return 3 }
        if role.elementsEqual("assistant".utf8) { return 4 }
        return 5 + Int(truncatingIfNeeded: XXH3_64bits(role, role.count) & 0xFFFF)
    }

    /// The running prefix hash: each block's XXH3-64, folded with the hash so far.
    struct Chain {
        var current: CacheKey
        init(_ start: CacheKey) { current = start }

        mutating func add(_ block: UnsafeRawBufferPointer, tag: Int) -> CacheKey {
            let blockHash = XXH3_64bits_withSeed(block.baseAddress, block.count, UInt64(truncatingIfNeeded: tag))
            var words = (current.high, current.low, blockHash)
            current = withUnsafeBytes(of: &words) { CacheKey(hashing: $0) }
            return current
        }
    }
}

extension JSONLexer {
    /// Calls `member` for each member of an object whose `{` has been read, with the
    /// cursor on the member's value; `member` must step over the value.
    mutating func members(_ member: (inout JSONLexer, String) throws(JSONError) -> Void) throws(JSONError) {
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            var key: [UInt8] = []
            try readDecodedString(into: &key)
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            skipWhitespace()
            try member(&self, String(decoding: key, as: UTF8.self))
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return
            }
            try expect(UInt8(ascii: ","), "','")
        }
    }

    /// Calls `element` for each element of the array at the cursor (skipping a value
    /// that is not an array); `element` must step over the element.
    mutating func elements(_ element: (inout JSONLexer) throws(JSONError) -> Void) throws(JSONError) {
        guard peek() == UInt8(ascii: "[") else { return try skipValue() }
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try element(&self)
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return
            }
            try expect(UInt8(ascii: ","), "','")
        }
    }

    /// Steps over a value, setting `found` if any object in it has a `cache_control`
    /// member, however its key is escaped.
    mutating func skipValue(keys found: inout Bool, depth: Int) throws(JSONError) {
        guard depth <= CanonicalJSONWriter.maxDepth else { throw error("nesting too deep") }
        switch peek() {
        case UInt8(ascii: "{"):
            index += 1
            try members { lexer, key throws(JSONError) in
                if key == "cache_control" { found = true }
                try lexer.skipValue(keys: &found, depth: depth + 1)
            }
        case UInt8(ascii: "["):
            try elements { lexer throws(JSONError) in try lexer.skipValue(keys: &found, depth: depth + 1) }
        default:
            try skipValue(depth: depth)
        }
    }
}

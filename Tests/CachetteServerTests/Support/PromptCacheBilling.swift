import CachetteCore
import Foundation
import Synchronization

/// Anthropic's prompt cache as it bills, for the fake upstream: what a `/v1/messages`
/// request's `cache_control` breakpoints read and write, and what it refuses.
///
/// - Blocks in render order: each tool, each system block (a system string is one),
///   then each content block of each message (a string content is one).
/// - More than 4 breakpoints, or one on a `thinking` or `redacted_thinking` block: a 400.
/// - Each breakpoint looks back up to 20 blocks for a prefix written earlier under the
///   same credential and model and not yet expired; the longest found is read, and its
///   lifetime starts again.
/// - The prefix up to each breakpoint is written (a prefix shorter than `minimumTokens`
///   never is); the tokens from the end of what was read to the last breakpoint are
///   billed as written.
/// - A prefix lives 5 minutes, or an hour when its breakpoint asks (`"ttl": "1h"`).
/// - A block's tokens: a quarter of its bytes, rounded up, without its `cache_control`.
final class PromptCacheBilling: Sendable {
    struct Usage: Equatable {
        var input = 0
        var cacheCreation = 0
        /// Of `cacheCreation`, the tokens written for an hour.
        var cacheCreation1h = 0
        var cacheRead = 0
    }

    enum Billed: Equatable {
        case usage(Usage)
        case refused(String)
    }

    let minimumTokens: Int
    static let lookBack = 20
    static let maxBreakpoints = 4

    /// Prefix hashes and when they expire.
    private let written = Mutex<[CacheKey: Double]>([:])
    private let billed = Mutex(Usage())

    /// Everything billed so far.
    var total: Usage { billed.withLock { $0 } }

    /// What `total` costs in units of the input price: writes at 1.25 (an hour's at 2),
    /// reads at 0.1.
    var cost: Double {
        let total = total
        return Double(total.input) + 1.25 * Double(total.cacheCreation - total.cacheCreation1h) + 2 * Double(total.cacheCreation1h)
            + 0.1 * Double(total.cacheRead)
    }

    init(minimumTokens: Int = 1024) {
        self.minimumTokens = minimumTokens
    }

    private struct Block {
        var bytes: [UInt8]
        var tokens: Int
        /// Its breakpoint's lifetime in seconds, if it has one.
        var breakpoint: Double?
        var thinking: Bool
    }

    func bill(_ request: JSONValue, credential: String, now: Double = Date().timeIntervalSince1970) -> Billed {
        let blocks = Self.blocks(request)
        let breakpoints = blocks.indices.filter { blocks[$0].breakpoint != nil }
        if breakpoints.count > Self.maxBreakpoints {
            return .refused("A maximum of 4 blocks with cache_control may be provided. Found \(breakpoints.count).")
        }
        if breakpoints.contains(where: { blocks[$0].thinking }) {
            return .refused("cache_control cannot be set for thinking blocks.")
        }
        // The hash of each prefix, blocks 0...i, under the credential and model.
        var prefixes: [CacheKey] = []
        var tokensThrough: [Int] = []
        var running = Array(credential.utf8) + [0] + Array((request["model"]?.stringValue ?? "").utf8) + [0]
        var total = 0
        for block in blocks {
            running += block.bytes + [0]
            prefixes.append(CacheKey(hashing: running))
            total += block.tokens
            tokensThrough.append(total)
        }
        return written.withLock { written in
            var read = -1
            for breakpoint in breakpoints {
                for j in stride(from: breakpoint, through: max(0, breakpoint - Self.lookBack), by: -1) where j > read {
                    if let expiry = written[prefixes[j]], expiry > now {
                        read = j
                        break
                    }
                }
            }
            var usage = Usage()
            if read >= 0 {
                usage.cacheRead = tokensThrough[read]
                // A read refreshes the prefix it read for the lifetime it was written with.
                let lifetime = blocks[read].breakpoint ?? 300
                written[prefixes[read]] = max(written[prefixes[read]] ?? 0, now + lifetime)
            }
            // Each stretch from the last write (or the read) to a breakpoint at that breakpoint's lifetime.
            var writtenThrough = read
            for breakpoint in breakpoints where tokensThrough[breakpoint] >= minimumTokens {
                let lifetime = blocks[breakpoint].breakpoint ?? 300
                written[prefixes[breakpoint]] = max(written[prefixes[breakpoint]] ?? 0, now + lifetime)
                if breakpoint > writtenThrough {
                    let stretch = tokensThrough[breakpoint] - (writtenThrough >= 0 ? tokensThrough[writtenThrough] : 0)
                    usage.cacheCreation += stretch
                    if lifetime > 300 { usage.cacheCreation1h += stretch }
                    writtenThrough = breakpoint
                }
            }
            usage.input = total - usage.cacheRead - usage.cacheCreation
            billed.withLock {
                $0.input += usage.input
                $0.cacheCreation += usage.cacheCreation
                $0.cacheCreation1h += usage.cacheCreation1h
                $0.cacheRead += usage.cacheRead
            }
            return .usage(usage)
        }
    }

    /// The request's blocks in render order.
    private static func blocks(_ request: JSONValue) -> [Block] {
        var blocks: [Block] = []
        /// `tag` keeps apart equal blocks in different places (a tool, a system block, a role's message).
        func add(_ value: JSONValue, tag: String) {
            var members = value.members ?? []
            let control = members.first { $0.key == "cache_control" }?.value
            members.removeAll { $0.key == "cache_control" }
            let bytes = Array(tag.utf8) + [0] + (value.members == nil ? value.serialized() : JSONValue.object(members).serialized())
            let type = value["type"]?.stringValue
            blocks.append(
                Block(
                    bytes: bytes, tokens: (bytes.count + 3) / 4, breakpoint: control.map { $0["ttl"]?.stringValue == "1h" ? 3600 : 300 },
                    thinking: type == "thinking" || type == "redacted_thinking"))
        }
        func text(_ text: String) -> JSONValue { .object([.init("type", .string("text")), .init("text", .string(text))]) }
        for tool in request["tools"]?.arrayValue ?? [] { add(tool, tag: "tool") }
        switch request["system"] {
        case .string(let system)?: add(text(system), tag: "system")
        case .array(let system)?: for block in system { add(block, tag: "system") }
        default: break
        }
        for message in request["messages"]?.arrayValue ?? [] {
            let role = message["role"]?.stringValue ?? ""
            switch message["content"] {
            case .string(let content)?: add(text(content), tag: role)
            case .array(let parts)?: for part in parts { add(part, tag: role) }
            default: break
            }
        }
        return blocks
    }
}

@testable import CachetteCore
import Testing

/// A small deterministic generator, so property failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes a value with random key order, whitespace, number spellings and escapes.
struct Respeller {
    var rng: SplitMix64

    mutating func ws() -> String { ["", " ", "\n", "\t ", "  \r\n"].randomElement(using: &rng)! }

    mutating func write(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let text): return respellNumber(text)
        case .string(let s): return respellString(s)
        case .array(let items): return "[" + ws() + items.map { write($0) }.joined(separator: ws() + "," + ws()) + ws() + "]"
        case .object(let members):
            let parts = members.shuffled(using: &rng).map { respellString($0.key) + ws() + ":" + ws() + write($0.value) }
            return "{" + ws() + parts.joined(separator: "," + ws()) + ws() + "}"
        }
    }

    mutating func respellNumber(_ text: String) -> String {
        guard let i = Int(text) else { return text }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return "\(i).0"
        case 1: return "\(i)e0"
        case 2: return "\(i * 10)e-1"
        default: return text
        }
    }

    mutating func respellString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += Bool.random(using: &rng) ? "\\n" : "\\u000a"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            case _ where scalar.isASCII && Int.random(in: 0..<5, using: &rng) == 0:
                out += String(format: "\\u%04X", scalar.value)
            case "/": out += Bool.random(using: &rng) ? "\\/" : "/"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

enum Generator {
    static func value(_ rng: inout SplitMix64, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int.random(in: -1000...1000, using: &rng))
        case 3: return .string(string(&rng))
        case 4: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in value(&rng, depth: depth + 1) })
        default:
            var seen = Set<String>()
            var members: [JSONValue.Member] = []
            for _ in 0..<Int.random(in: 0...5, using: &rng) {
                let key = string(&rng)
                if seen.insert(key).inserted { members.append(.init(key, value(&rng, depth: depth + 1))) }
            }
            return .object(members)
        }
    }

    static func string(_ rng: inout SplitMix64) -> String {
        let alphabet = Array("abcXYZ019 _-\"\\/\né😀\t")
        return String((0..<Int.random(in: 0...8, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    static func chatRequest(_ rng: inout SplitMix64) -> JSONValue {
        .object([
            "model": .string(["gpt-4o", "gpt-4o-mini", "o3"].randomElement(using: &rng)!),
            "messages": .array(
                (0..<Int.random(in: 1...4, using: &rng)).map { _ in
                    .object(["role": .string("user"), "content": .string(string(&rng))])
                }),
            "temperature": .number(["0", "0.2", "1"].randomElement(using: &rng)!),
            "extra": value(&rng),
        ])
    }
}

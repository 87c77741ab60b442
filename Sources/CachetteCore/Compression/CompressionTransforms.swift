/// The rewrites a compression kept. Bits, not a `Set`: every compressed miss records
/// them, and this costs no allocation.
public struct CompressionTransforms: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let jsonMinify = Self(rawValue: 1 << 0)
    public static let whitespace = Self(rawValue: 1 << 1)
    public static let duplicateReference = Self(rawValue: 1 << 2)
    public static let codeComments = Self(rawValue: 1 << 3)
    public static let proseReflow = Self(rawValue: 1 << 4)
    public static let toolOutputCut = Self(rawValue: 1 << 5)

    /// Their names, as reports give them (`transforms_applied`), in alphabetical order.
    public var names: [String] { Self.named.filter { contains($0.transform) }.map(\.name) }

    private static let named: [(name: String, transform: Self)] = [
        ("code_comments", .codeComments), ("duplicate_reference", .duplicateReference), ("json_minify", .jsonMinify),
        ("prose_reflow", .proseReflow), ("tool_output_cut", .toolOutputCut), ("whitespace", .whitespace),
    ]
}

/// The rewrites a compression kept. Bits, not a `Set`: every compressed miss records
/// them, and this costs no allocation.
package struct CompressionTransforms: OptionSet, Sendable {
    public let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    package static let jsonMinify = Self(rawValue: 1 << 0)
    package static let whitespace = Self(rawValue: 1 << 1)
    package static let duplicateReference = Self(rawValue: 1 << 2)
    package static let codeComments = Self(rawValue: 1 << 3)
    package static let proseReflow = Self(rawValue: 1 << 4)
    package static let toolOutputCut = Self(rawValue: 1 << 5)

    /// Their names, as reports give them (`transforms_applied`), in alphabetical order.
    package var names: [String] { Self.named.filter { contains($0.transform) }.map(\.name) }

    private static let named: [(name: String, transform: Self)] = [
        ("code_comments", .codeComments), ("duplicate_reference", .duplicateReference), ("json_minify", .jsonMinify),
        ("prose_reflow", .proseReflow), ("tool_output_cut", .toolOutputCut), ("whitespace", .whitespace),
    ]
}

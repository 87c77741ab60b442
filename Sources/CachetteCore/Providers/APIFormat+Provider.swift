/// The formats' folders use `API/`'s types, so the map from a format to its provider
/// sits above them all.
extension APIFormat {
    /// Everything this format's wire needs, in one value.
    package var provider: APIProvider {
        switch self {
        case .openai: .openai
        case .anthropic: .anthropic
        }
    }

    /// How this format's streams are read, assembled and written.
    public var dialect: any StreamDialect.Type { provider.dialect }

    /// The format whose own path `path` is (`APIProvider.ownPaths`), if any.
    package static func owning(_ path: String) -> APIFormat? { allCases.first { $0.provider.owns(path) } }
}

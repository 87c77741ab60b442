/// What the sidecar knows of one API format's wire, in one value: how its upstreams
/// take a key, the headers they need, which client paths are its own whatever the
/// model, the version its paths and base URLs share, where a request names its model,
/// how an answer reports its usage, where its model lists are, and how its streams read. A new format is a new value (and a case of `APIFormat`),
/// looked up by `APIFormat.provider`.
package struct APIProvider: Sendable {
    /// The header a configured `api_key` is sent in, after `prefix`.
    package let credentialHeader: (name: String, prefix: String)
    /// Sent to its upstreams when the client sent none of that name.
    package let defaultHeaders: [(name: String, value: String)]
    /// Paths that belong to this format's upstreams whatever the body names (Anthropic's
    /// `/v1/messages/batches`, `/v1/messages/count_tokens`).
    package let ownPaths: [String]
    /// The version a client path starts with and an upstream base URL already ends in:
    /// dropped from the path when the two are joined.
    package let versionPrefix: String
    /// Where a request names its model.
    package let model: ModelLocation
    /// An answer's token usage, in this format's fields; nil when it reports none.
    package let usage: @Sendable (UnsafeRawBufferPointer) -> TokenUsage?
    /// Where a model list answer holds its entries, and where each entry its id.
    package let modelList: (member: String, id: String)
    /// How its streams are read, assembled and written.
    package let dialect: any StreamDialect.Type

    package init(
        credentialHeader: (name: String, prefix: String), defaultHeaders: [(name: String, value: String)] = [], ownPaths: [String] = [],
        versionPrefix: String = "/v1", model: ModelLocation = .body(member: "model"),
        usage: @escaping @Sendable (UnsafeRawBufferPointer) -> TokenUsage? = TokenUsage.init(responseBody:),
        modelList: (member: String, id: String) = ("data", "id"), dialect: any StreamDialect.Type
    ) {
        self.credentialHeader = credentialHeader
        self.defaultHeaders = defaultHeaders
        self.ownPaths = ownPaths
        self.versionPrefix = versionPrefix
        self.model = model
        self.usage = usage
        self.modelList = modelList
        self.dialect = dialect
    }

    /// Whether `path` is one of this format's own.
    package func owns(_ path: String) -> Bool { ownPaths.contains { path.hasPrefix($0) } }
}

/// The wire format a request and its answer follow: the client's, and each upstream's.
/// What each format's parts are is looked up in `Providers/`, above the formats' folders.
public enum APIFormat: String, Sendable, CaseIterable {
    /// OpenAI's chat completions, completions and embeddings.
    case openai
    /// Anthropic's Messages.
    case anthropic
}

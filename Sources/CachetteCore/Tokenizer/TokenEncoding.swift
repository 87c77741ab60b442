/// The BPE encodings Cachette counts with, as tiktoken names them.
public enum TokenEncoding: String, Sendable, CaseIterable {
    case cl100k = "cl100k_base"
    case o200k = "o200k_base"

    /// SHA-256 of the shipped vocabulary file: a damaged or swapped file is refused.
    var sha256: String {
        switch self {
        case .cl100k: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
        case .o200k: "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
        }
    }

    /// The encoding a model uses. Models Cachette does not know are counted with o200k
    /// and the count is marked estimated.
    package static func forModel(_ model: String) -> (encoding: TokenEncoding, estimated: Bool) {
        let name = model.lowercased().split(separator: "/").last.map(String.init) ?? model.lowercased()
        for prefix in ["gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt-4o"] where name.hasPrefix(prefix) {
            return (.o200k, false)
        }
        for prefix in ["gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada-002"] where name.hasPrefix(prefix) {
            return (.cl100k, false)
        }
        return (.o200k, true)
    }
}

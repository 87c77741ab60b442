import CachetteCore
import Logging
import ServiceLifecycle

/// Loads (and checks) the vocabularies at start-up, so the first request that needs a
/// token count does not wait for them, and a damaged file is reported at once.
struct TokenizerWarmup: Service {
    let logger: Logger

    func run() async throws {
        for encoding in TokenEncoding.allCases {
            do {
                _ = try Tokenizer.shared(encoding)
            } catch {
                logger.error("tokenizer unavailable; token counts and compression will be skipped", metadata: ["error": "\(error)"])
            }
        }
        // A service that returns ends the group: this one waits for the rest.
        try? await gracefulShutdown()
    }
}

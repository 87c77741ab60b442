import CachetteCore
import Logging
import ServiceLifecycle

/// Writes queued cache entries and access times; on shutdown, the last of them, so no
/// answer stored in memory is lost.
struct CacheWriterService: Service {
    let store: CacheStore
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await store.runWriter() }
        // Not cancelled with the service: shutting down (a failed start included) is when it must run.
        await Task { [store, logger] in
            do {
                try await store.flush()
            } catch {
                logger.error("final cache flush failed", metadata: ["error": "\(error)"])
            }
        }.value
    }
}

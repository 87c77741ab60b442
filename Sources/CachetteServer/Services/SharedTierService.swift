import CachetteCore
import CachetteShared
import ServiceLifecycle

/// Runs the PostgreSQL tier's connections and background loops; on shutdown it sends
/// the last batch of writes before it closes them.
struct SharedTierService: Service {
    let tier: PostgresTier

    func run() async throws {
        await cancelWhenGracefulShutdown { await tier.run() }
    }
}

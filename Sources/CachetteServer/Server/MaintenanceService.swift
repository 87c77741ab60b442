import CachetteCore
import Logging
import ServiceLifecycle

/// Background work: writes queued cache entries, access times, ledger rows and counters, and on
/// shutdown writes the last of them before the process exits, so nothing is lost.
struct MaintenanceService: Service {
    let store: CacheStore?
    let database: CachetteDatabase?
    let stats: StatsCounters
    let ledger: Ledger
    let client: UpstreamClient
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if let store {
                    group.addTask { await store.runWriter() }
                }
                group.addTask { await persistCountersPeriodically() }
                group.addTask { loadTokenizers() }
            }
        }
        await finalFlush()
        try await client.shutdown()
    }

    /// Loads (and checks) the vocabularies now, so the first request that needs a token
    /// count does not wait for them, and a damaged file is reported at start-up.
    private func loadTokenizers() {
        for encoding in TokenEncoding.allCases {
            do {
                _ = try Tokenizer.shared(encoding)
            } catch {
                logger.error("tokenizer unavailable; token counts and compression will be skipped", metadata: ["error": "\(error)"])
            }
        }
    }

    private func persistCountersPeriodically() async {
        var saved = stats.snapshot
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            do {
                try await ledger.flush()
            } catch is CancellationError {
                return
            } catch {
                logger.error("could not write the ledger", metadata: ["error": "\(error)"])
            }
            let current = stats.snapshot
            guard current != saved else { continue }
            do {
                try await database?.saveCounters(stats.persistable)
                saved = current
            } catch is CancellationError {
                return  // shutting down; finalFlush saves them
            } catch {
                logger.error("could not save counters", metadata: ["error": "\(error)"])
            }
        }
    }

    private func finalFlush() async {
        guard let store else { return }
        // Not cancelled with the service: shutting down (a failed start included) is when it must run.
        await Task { [ledger, stats, logger] in
            do {
                try await store.flush()
                try await ledger.flush()
                try await store.database.saveCounters(stats.persistable)
            } catch {
                logger.error("final cache flush failed", metadata: ["error": "\(error)"])
            }
        }.value
    }
}

import CachetteCore
import Logging
import ServiceLifecycle

/// Writes the ledger's rows and the /stats counters every second, and the last of them
/// on shutdown.
struct BookkeepingService: Service {
    let database: CachetteDatabase?
    let stats: StatsCounters
    let ledger: Ledger
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await writePeriodically() }
        // Not cancelled with the service: shutting down is when it must run.
        await Task { [database, ledger, stats, logger] in
            do {
                try await ledger.flush()
                try await database?.saveCounters(stats.persistable)
            } catch {
                logger.error("final ledger and counters write failed", metadata: ["error": "\(error)"])
            }
        }.value
    }

    private func writePeriodically() async {
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
                return  // shutting down; the final write saves them
            } catch {
                logger.error("could not save counters", metadata: ["error": "\(error)"])
            }
        }
    }
}

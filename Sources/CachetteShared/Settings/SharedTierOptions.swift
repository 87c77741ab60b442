import CachetteCore

/// `shared:`: the PostgreSQL tier several sidecars share.
package struct SharedTierOptions: Sendable {
    package var url: SharedURL
    /// Connections to PostgreSQL; one of them listens for finished flights.
    package var poolSize = 8
    /// Longest wait for one shared read, and for connecting; past it the read is a local miss.
    package var timeout: Duration = .milliseconds(250)
    /// Budget for the shared tier's stored bytes (compressed bodies plus a per-row overhead).
    package var maxBytes = 20 << 30
    /// Book every request's ledger row in PostgreSQL too, for `/stats?scope=cluster`.
    package var ledger = true
    /// How long cluster ledger rows are kept (`ledger.retention`).
    package var ledgerRetention: Duration = .seconds(30 * 86400)
    /// Create the tables `UNLOGGED`: faster writes, no WAL, emptied by a crash of PostgreSQL and not replicated.
    package var unlogged = false
    /// How often one replica (elected per run) enforces TTL and `maxBytes`.
    package var pruneInterval: Duration = .seconds(60)
    /// Longest a replica leads a flight before others stop waiting for it: the upstream timeout.
    package var flightDeadline: Duration = .seconds(600)
    /// Seconds an entry is kept past its TTL, for stale-if-error (`cache.stale_if_error`).
    package var staleSeconds: Double = 0
    /// zstd's level for stored bodies (`cache.compression_level`).
    package var zstdLevel: Int32 = 3
    /// What a row must be to be served: the rows are any replica's (or anyone's) writing.
    package var check = EntryCheck()
    /// Most bytes of answers waiting to be written; later ones are dropped while PostgreSQL is away.
    package var maxQueuedBytes = 64 << 20
    /// Longest time between batches of writes.
    package var batchWindow: Duration = .milliseconds(20)

    package init(url: SharedURL) {
        self.url = url
    }
}

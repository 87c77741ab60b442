import CachetteCore

/// `shared:`: the PostgreSQL tier several sidecars share.
public struct SharedTierOptions: Sendable {
    public var url: SharedURL
    /// Connections to PostgreSQL; one of them listens for finished flights.
    public var poolSize = 8
    /// Longest wait for one shared read, and for connecting; past it the read is a local miss.
    public var timeout: Duration = .milliseconds(250)
    /// Budget for the shared tier's stored bytes (compressed bodies plus a per-row overhead).
    public var maxBytes = 20 << 30
    /// Book every request's ledger row in PostgreSQL too, for `/stats?scope=cluster`.
    public var ledger = true
    /// How long cluster ledger rows are kept (`ledger.retention`).
    public var ledgerRetention: Duration = .seconds(30 * 86400)
    /// Create the tables `UNLOGGED`: faster writes, no WAL, emptied by a crash of PostgreSQL and not replicated.
    public var unlogged = false
    /// How often one replica (elected per run) enforces TTL and `maxBytes`.
    public var pruneInterval: Duration = .seconds(60)
    /// Longest a replica leads a flight before others stop waiting for it: the upstream timeout.
    public var flightDeadline: Duration = .seconds(600)
    /// Seconds an entry is kept past its TTL, for stale-if-error (`cache.stale_if_error`).
    public var staleSeconds: Double = 0
    public var compressionLevel: Int32 = 3
    /// What a row must be to be served: the rows are any replica's (or anyone's) writing.
    public var check = EntryCheck()
    /// Most bytes of answers waiting to be written; later ones are dropped while PostgreSQL is away.
    public var maxQueuedBytes = 64 << 20
    /// Longest time between batches of writes.
    public var batchWindow: Duration = .milliseconds(20)

    public init(url: SharedURL) {
        self.url = url
    }
}

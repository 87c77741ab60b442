import CachetteCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The shared tier on PostgreSQL (`shared:`): entries every replica reads and writes,
/// and the flights that keep N replicas' identical misses to one upstream call.
///
/// - A read is one round trip (`fetchOrClaim`): the fresh entry, or the key's flight
///   claimed for this replica, or the deadline of the replica that holds it. A follower
///   waits for the leader's NOTIFY (or the deadline), then asks again.
/// - Writes are queued and sent in batches, one transaction each: multi-row inserts,
///   the flights they finish, and their NOTIFYs (`PostgresTier+Writer`).
/// - One replica at a time enforces TTL and the byte budget (`PostgresTier+Pruner`).
/// - Down, slow or refusing, it is a miss: `state` goes down, a probe reconnects with
///   backoff, and no request waits longer than `timeout` for it.
package final class PostgresTier: SharedCacheTier, Sendable {
    package let options: SharedTierOptions
    /// This process, as flight owner and ledger replica: host, pid and a random suffix.
    package let replica: String
    let client: PostgresClient
    /// Connections the reads hold, off the pool.
    let readers: ReadConnections
    let logger: Logger
    let loop: any EventLoop
    let signals = FlightSignals()
    let counters = SharedCounters()
    let health = Mutex<(state: SharedStatus.State, lastError: String?)>((.starting, nil))
    /// Keys whose flight this replica holds.
    let claims = Mutex<Set<CacheKey>>([])
    let queue = Mutex(WriteQueue())
    let wake: AsyncStream<Void>.Continuation
    let wakeups: AsyncStream<Void>
    /// Only the writer uses it, one batch at a time.
    let compressor: ZstdCompressor
    /// Serialises batches.
    let flushGate = AsyncGate()
    let decompressors = ZstdDecompressors()
    /// Finished flights announced to this replica (NOTIFY), for tests: a waiter is woken by
    /// one, or by its one-second re-check.
    let announcements = Atomic<Int>(0)
    /// Reads in a row that passed `timeout`; at `lateReadsBeforeDown` the tier is down.
    let lateReads = Atomic<Int>(0)
    static let lateReadsBeforeDown = 3
    /// What else goes out with every batch (`alsoWriting`).
    let batchWriters = Mutex<[@Sendable () async -> Void]>([])
    /// The loops waiting for the tier to come up, by ticket.
    let upWaiters = Mutex<(next: Int, waiting: [Int: CheckedContinuation<Void, Never>])>((0, [:]))

    package init(options: SharedTierOptions, eventLoopGroup: any EventLoopGroup = PostgresClient.defaultEventLoopGroup, logger: Logger) {
        self.options = options
        var logger = logger
        logger[metadataKey: "shared"] = "\(options.url.redacted)"
        self.logger = logger
        replica = "\(Self.hostName()):\(ProcessInfo.processInfo.processIdentifier):\(UInt32.random(in: 0 ... .max))"
        loop = eventLoopGroup.any()
        compressor = ZstdCompressor(level: options.zstdLevel)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        readers = ReadConnections(count: ReadConnections.count(poolSize: options.poolSize))
        client = PostgresClient(
            configuration: Self.configuration(options), eventLoopGroup: eventLoopGroup,
            backgroundLogger: Logger(label: "cachette.shared.pool", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// gethostname(2): Foundation's `hostName` may ask DNS, and block on it.
    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func configuration(_ options: SharedTierOptions) -> PostgresClient.Configuration {
        let url = options.url
        var tls = TLSConfiguration.makeClientConfiguration()
        if let root = url.rootCertificate { tls.trustRoots = .file(root) }
        let mode: PostgresClient.Configuration.TLS
        switch url.tls {
        case .disable: mode = .disable
        case .prefer:
            tls.certificateVerification = .none
            mode = .prefer(tls)
        case .require:
            tls.certificateVerification = .none
            mode = .require(tls)
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
            mode = .require(tls)
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            mode = .require(tls)
        }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: mode)
        configuration.options.maximumConnections = max(2, options.poolSize)
        configuration.options.minimumConnections = 1
        configuration.options.connectTimeout = max(options.timeout, .seconds(1))
        // A claim or an entry lost to a PostgreSQL crash costs one upstream call; waiting
        // for the WAL flush on every miss costs more.
        configuration.options.additionalStartupParameters = [("synchronous_commit", "off"), ("application_name", "cachette")]
        return configuration
    }

    package var status: SharedStatus {
        let (state, lastError) = health.withLock { $0 }
        return SharedStatus(state: state, lastError: lastError, counts: counters.snapshot)
    }

    var isUp: Bool { health.withLock { $0.state == .up } }

    /// Runs `write` with every batch the writer sends, and on its periodic wake-up: for
    /// what rides the tier's pool without being an entry (the cluster ledger).
    package func alsoWriting(_ write: @escaping @Sendable () async -> Void) {
        batchWriters.withLock { $0.append(write) }
    }
}

import Foundation
import GRDB
import Synchronization

/// One request as the ledger keeps it.
public struct LedgerRecord: Sendable, Equatable {
    public var time: Double
    public var route: String
    public var model: String
    public var outcome: RequestOutcome
    /// For a hit: the tokens of the stored answer, which nobody paid for again.
    public var promptTokens: Int
    public var completionTokens: Int
    /// `prompt_tokens_details.cached_tokens`: prompt tokens the provider's own cache served.
    public var cachedPromptTokens: Int
    /// Prompt tokens written to the provider's prompt cache.
    public var cacheWritePromptTokens: Int
    /// Of those, the ones written for an hour; priced, not kept as a column.
    public var cacheWrite1hPromptTokens: Int
    public var savedCompressionTokens: Int
    /// The prompt's tokens as the client sent it, when compression saved some: the
    /// upstream's prompt tokens plus `savedCompressionTokens`; 0 otherwise.
    public var promptTokensBeforeCompression: Int
    /// The tokens were counted here because the upstream reported no usage.
    public var counted: Bool
    public var latencyMs: Double

    public init(
        time: Double, route: String, model: String, outcome: RequestOutcome, promptTokens: Int = 0, completionTokens: Int = 0,
        cachedPromptTokens: Int = 0, cacheWritePromptTokens: Int = 0, cacheWrite1hPromptTokens: Int = 0, savedCompressionTokens: Int = 0,
        promptTokensBeforeCompression: Int = 0, counted: Bool = false, latencyMs: Double = 0
    ) {
        self.time = time
        self.route = route
        self.model = model
        self.outcome = outcome
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.cacheWritePromptTokens = cacheWritePromptTokens
        self.cacheWrite1hPromptTokens = cacheWrite1hPromptTokens
        self.savedCompressionTokens = savedCompressionTokens
        self.promptTokensBeforeCompression = promptTokensBeforeCompression
        self.counted = counted
        self.latencyMs = latencyMs
    }

    var savedCacheTokens: Int { outcome == .hit ? promptTokens + completionTokens : 0 }
}

/// Per-model sums over a window.
public struct ModelTotals: Sendable, Equatable {
    /// Every booked request: each outcome, refusals and passthrough ones included.
    public var requests = 0
    public var hits = 0
    /// Answered by the upstream with a 2xx after a lookup found nothing (`RequestOutcome.miss`).
    public var misses = 0
    /// Tokens paid for: requests that went upstream.
    public var inputTokens = 0
    public var outputTokens = 0
    public var cachedInputTokens = 0
    /// Prompt tokens written to the provider's prompt cache.
    public var cacheWriteInputTokens = 0
    /// Tokens not paid for: answers served from cache, plus what compression removed.
    public var savedTokens = 0
    public var savedCompressionTokens = 0
    public var spentUSD = 0.0
    /// Everything saved: by the cache and by compression.
    public var savedUSD = 0.0
    public var savedCompressionUSD = 0.0
    /// The provider's prompt cache: what its reads saved against the input price, and
    /// what its writes cost over it. Apart from `savedUSD`, which is Cachette's own.
    public var providerCacheReadSavingsUSD = 0.0
    public var providerCacheWritePremiumUSD = 0.0

    public init() {}

    /// Reads' savings net of the writes' premium: what the provider's cache saved.
    public var savedProviderCacheUSD: Double { providerCacheReadSavingsUSD - providerCacheWritePremiumUSD }

    mutating func add(_ record: LedgerRecord, _ booking: Ledger.Booking) {
        requests += 1
        if record.outcome == .miss { misses += 1 }
        if record.outcome == .hit {
            hits += 1
        } else {
            inputTokens += record.promptTokens
            outputTokens += record.completionTokens
            cachedInputTokens += record.cachedPromptTokens
            cacheWriteInputTokens += record.cacheWritePromptTokens
        }
        savedTokens += record.savedCacheTokens + record.savedCompressionTokens
        savedCompressionTokens += record.savedCompressionTokens
        spentUSD += booking.spent
        savedUSD += booking.saved
        savedCompressionUSD += booking.savedByCompression
        providerCacheReadSavingsUSD += booking.providerReadSavings
        providerCacheWritePremiumUSD += booking.providerWritePremium
    }

    /// The most dollars one sum read back may hold: more than any bill, and far from
    /// where adding a few loses finiteness.
    static let maxDollars = 1e15

    /// Held to what the ledger could have booked. Read back from a file or a shared row,
    /// a count may be negative (and the differences shown would overflow) and a sum of
    /// dollars may not be finite.
    public func normalized() -> ModelTotals {
        func count(_ value: Int) -> Int { max(0, value) }
        func dollars(_ value: Double) -> Double { value > 0 ? min(value, Self.maxDollars) : 0 }
        var t = ModelTotals()
        t.requests = count(requests)
        t.hits = min(count(hits), t.requests)
        t.misses = min(count(misses), t.requests - t.hits)
        t.inputTokens = count(inputTokens)
        t.outputTokens = count(outputTokens)
        t.cachedInputTokens = count(cachedInputTokens)
        t.cacheWriteInputTokens = count(cacheWriteInputTokens)
        t.savedTokens = count(savedTokens)
        t.savedCompressionTokens = min(count(savedCompressionTokens), t.savedTokens)
        t.spentUSD = dollars(spentUSD)
        t.savedUSD = dollars(savedUSD)
        t.savedCompressionUSD = min(dollars(savedCompressionUSD), t.savedUSD)
        t.providerCacheReadSavingsUSD = dollars(providerCacheReadSavingsUSD)
        t.providerCacheWritePremiumUSD = dollars(providerCacheWritePremiumUSD)
        return t
    }

    /// `HitRatio`'s definition, as every surface shows it.
    public var hitRatio: Double { HitRatio.of(hits: hits, misses: misses) }

    /// Saturating: the sums come back from the ledger's file and the shared tier's rows.
    public mutating func add(_ other: ModelTotals) {
        requests = requests.addingSaturated(other.requests)
        hits = hits.addingSaturated(other.hits)
        misses = misses.addingSaturated(other.misses)
        inputTokens = inputTokens.addingSaturated(other.inputTokens)
        outputTokens = outputTokens.addingSaturated(other.outputTokens)
        cachedInputTokens = cachedInputTokens.addingSaturated(other.cachedInputTokens)
        cacheWriteInputTokens = cacheWriteInputTokens.addingSaturated(other.cacheWriteInputTokens)
        savedTokens = savedTokens.addingSaturated(other.savedTokens)
        savedCompressionTokens = savedCompressionTokens.addingSaturated(other.savedCompressionTokens)
        spentUSD += other.spentUSD
        savedUSD += other.savedUSD
        savedCompressionUSD += other.savedCompressionUSD
        providerCacheReadSavingsUSD += other.providerCacheReadSavingsUSD
        providerCacheWritePremiumUSD += other.providerCacheWritePremiumUSD
    }
}

extension ModelTotals {
    /// The values of `Ledger.modelTotalsNames`, in order.
    var columnValues: [(any DatabaseValueConvertible)?] {
        [
            requests, hits, misses, inputTokens, outputTokens, cachedInputTokens, savedTokens, savedCompressionTokens, spentUSD, savedUSD,
            savedCompressionUSD, cacheWriteInputTokens, providerCacheReadSavingsUSD, providerCacheWritePremiumUSD,
        ]
    }

    /// From stored values in `Ledger.modelTotalsNames`'s order; anything missing, NULL
    /// or of another type reads as 0, and the result is normalized.
    init(columns: [DatabaseValue]) {
        func int(_ i: Int) -> Int { i < columns.count ? Int.fromDatabaseValue(columns[i]) ?? 0 : 0 }
        func double(_ i: Int) -> Double { i < columns.count ? Double.fromDatabaseValue(columns[i]) ?? 0 : 0 }
        var t = ModelTotals()
        t.requests = int(0)
        t.hits = int(1)
        t.misses = int(2)
        t.inputTokens = int(3)
        t.outputTokens = int(4)
        t.cachedInputTokens = int(5)
        t.savedTokens = int(6)
        t.savedCompressionTokens = int(7)
        t.spentUSD = double(8)
        t.savedUSD = double(9)
        t.savedCompressionUSD = double(10)
        t.cacheWriteInputTokens = int(11)
        t.providerCacheReadSavingsUSD = double(12)
        t.providerCacheWritePremiumUSD = double(13)
        self = t.normalized()
    }
}

extension Sequence<ModelTotals> {
    /// Every model's totals added up, saturating.
    public func total() -> ModelTotals {
        reduce(into: ModelTotals()) { $0.add($1) }
    }
}

public enum LedgerWindow: String, Sendable, CaseIterable {
    case hour = "1h"
    case day = "24h"
    case week = "7d"
    case all

    public var seconds: Double? {
        switch self {
        case .hour: 3600
        case .day: 86400
        case .week: 7 * 86400
        case .all: nil
        }
    }
}

/// Every request, in the cache's SQLite file: one row each (kept for `retention`) and
/// all-time sums per model (kept for good). Recording is one lock and an append; rows
/// reach SQLite in batches from `flush`. Dollars are fixed when a request is recorded,
/// at the prices of the day, so later price changes do not rewrite history.
public final class Ledger: Sendable {
    let pool: DatabasePool?
    public let prices: PriceTable
    public let retention: Duration
    /// Distinct model names kept apart; later ones are booked as `other`, since names come from clients.
    public let maxModels: Int
    public static let otherModel = "other"
    /// Where requests that named no model are booked: passthrough paths, and requests
    /// refused before their body was read.
    public static let noModel = "(none)"

    private struct State {
        var pending: [(LedgerRecord, Booking)] = []
        var allTime: [String: ModelTotals] = [:]
        /// All-time sums not yet written to `model_totals`.
        var unsaved: [String: ModelTotals] = [:]
        /// Each model's price, looked up once: matching patterns is too slow for every hit.
        var prices: [String: ModelPrice?] = [:]
    }

    private let state: Mutex<State>

    /// Where each row goes as well (`shared.ledger`).
    let cluster: (any LedgerSink)?

    /// - Parameters:
    ///   - database: where rows go; without one (cache disabled) the ledger lives in memory only.
    ///   - cluster: where every row goes as well, for cluster-wide figures.
    public init(
        database: CachetteDatabase?, prices: PriceTable, retention: Duration, maxModels: Int = 200, cluster: (any LedgerSink)? = nil
    ) throws {
        self.pool = database?.pool
        self.cluster = cluster
        self.prices = prices
        self.retention = retention
        self.maxModels = maxModels
        var allTime: [String: ModelTotals] = [:]
        if let pool {
            try LedgerSchema.migrator.migrate(pool)
            allTime = try pool.read { db in
                var totals: [String: ModelTotals] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT * FROM model_totals") {
                    totals[row["model"] ?? ""] = Self.totals(row)
                }
                return totals
            }
        }
        state = Mutex(State(allTime: allTime))
    }

    /// What booking a request fixed: the model it was booked under (`other` past
    /// `maxModels`) and its dollars at the day's prices.
    public struct Booking: Sendable, Equatable {
        public var model: String
        public var spent: Double
        /// By the cache and by compression together.
        public var saved: Double
        public var savedByCompression: Double
        /// The provider's prompt cache: its reads' savings and its writes' premium.
        public var providerReadSavings = 0.0
        public var providerWritePremium = 0.0

        public init(
            model: String, spent: Double, saved: Double, savedByCompression: Double, providerReadSavings: Double = 0,
            providerWritePremium: Double = 0
        ) {
            self.model = model
            self.spent = spent
            self.saved = saved
            self.savedByCompression = savedByCompression
            self.providerReadSavings = providerReadSavings
            self.providerWritePremium = providerWritePremium
        }
    }

    /// One lock: on the hit path, booking a request must stay an append.
    @discardableResult
    public func record(_ record: LedgerRecord) -> Booking {
        var record = record
        if record.model.isEmpty { record.model = Self.noModel }
        let booked = state.withLock { s in
            let price: ModelPrice?
            if let known = s.prices[record.model] {
                price = known
            } else {
                price = prices.price(for: record.model)
                if s.prices.count >= 1024 { s.prices.removeAll() }  // model names come from clients
                s.prices[record.model] = .some(price)
            }
            let spent =
                record.outcome == .hit
                ? 0
                : price?.cost(
                    prompt: record.promptTokens, completion: record.completionTokens, cachedPrompt: record.cachedPromptTokens,
                    cacheWritePrompt: record.cacheWritePromptTokens, cacheWrite1hPrompt: record.cacheWrite1hPromptTokens
                ) ?? 0
            let savedByCache = record.outcome == .hit ? price?.cost(prompt: record.promptTokens, completion: record.completionTokens) ?? 0 : 0
            let savedByCompression = price.map { Double(record.savedCompressionTokens) * $0.input / 1_000_000 } ?? 0
            let upstream = record.outcome != .hit
            let read = upstream ? min(record.cachedPromptTokens, record.promptTokens) : 0
            let written = upstream ? min(record.cacheWritePromptTokens, record.promptTokens - read) : 0
            // Priced under its own name, kept apart only while there is room.
            if s.allTime[record.model] == nil, s.allTime.count >= maxModels { record.model = Self.otherModel }
            let booking = Booking(
                model: record.model, spent: spent, saved: savedByCache + savedByCompression, savedByCompression: savedByCompression,
                providerReadSavings: price?.providerCacheReadSavings(read: read) ?? 0,
                providerWritePremium: price?.providerCacheWritePremium(written: written, hour: record.cacheWrite1hPromptTokens) ?? 0)
            if pool != nil { s.pending.append((record, booking)) }
            s.allTime[record.model, default: ModelTotals()].add(record, booking)
            s.unsaved[record.model, default: ModelTotals()].add(record, booking)
            return (record, booking)
        }
        cluster?.book(booked.0, booked.1)
        return booked.1
    }

    /// Writes pending rows and all-time sums in one transaction, and drops rows past retention.
    public func flush(now: Double = Date().timeIntervalSince1970) async throws {
        guard let pool else { return }
        let (rows, sums) = state.withLock { s in
            defer {
                s.pending = []
                s.unsaved = [:]
            }
            return (s.pending, s.unsaved)
        }
        let cutoff = now - Double(retention.components.seconds)
        do {
            try await pool.write { db in
                let insert = try db.cachedStatement(
                    sql: """
                        INSERT INTO ledger (time, route, model, outcome, prompt_tokens, completion_tokens, cached_prompt_tokens,
                                            saved_cache_tokens, saved_compression_tokens, prompt_tokens_before_compression,
                                            counted, latency_ms, spent_usd, saved_usd, saved_compression_usd, cache_write_tokens,
                                            provider_read_savings_usd, provider_write_premium_usd)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                // A row for every request, hits included: bound without GRDB's boxing.
                for (r, booking) in rows {
                    var row = StatementBinder(insert)
                    try row.bind(r.time)
                    try row.bind(r.route)
                    try row.bind(r.model)
                    try row.bind(r.outcome.rawValue)
                    try row.bind(r.promptTokens)
                    try row.bind(r.completionTokens)
                    try row.bind(r.cachedPromptTokens)
                    try row.bind(r.savedCacheTokens)
                    try row.bind(r.savedCompressionTokens)
                    try row.bind(r.promptTokensBeforeCompression)
                    try row.bind(r.counted)
                    try row.bind(r.latencyMs)
                    try row.bind(booking.spent)
                    try row.bind(booking.saved)
                    try row.bind(booking.savedByCompression)
                    try row.bind(r.outcome == .hit ? 0 : r.cacheWritePromptTokens)
                    try row.bind(booking.providerReadSavings)
                    try row.bind(booking.providerWritePremium)
                    try row.execute()
                }
                let upsert = try db.cachedStatement(
                    sql: """
                        INSERT INTO model_totals (model, \(Self.modelTotalsColumns))
                        VALUES (?, \(Self.modelTotalsPlaceholders))
                        ON CONFLICT(model) DO UPDATE SET \(Self.addModelTotals)
                        """)
                for (model, t) in sums {
                    try upsert.execute(arguments: StatementArguments([model] + t.columnValues))
                }
                try Self.writeRollup(rows, cutoff: cutoff, db: db)
                try Self.writeModelHours(rows, cutoff: cutoff, db: db)
                try db.execute(sql: "DELETE FROM ledger WHERE time < ?", arguments: [cutoff])
            }
        } catch {
            // Put them back so the next flush tries again; nothing recorded is lost.
            state.withLock { s in
                s.pending = rows + s.pending
                for (model, t) in sums { s.unsaved[model, default: ModelTotals()].add(t) }
            }
            throw error
        }
    }

    /// Per-model sums for a window. `all` is every request since the ledger began
    /// (kept in memory); the others sum that window's hours and edge rows, so they reach
    /// back at most `retention`.
    public func totals(_ window: LedgerWindow, now: Double = Date().timeIntervalSince1970) async throws -> [String: ModelTotals] {
        guard let seconds = window.seconds else { return state.withLock { $0.allTime } }
        guard let pool else { return state.withLock { $0.allTime } }
        try await flush(now: now)
        return try await pool.read { db in try Self.windowTotals(db, since: now - seconds, now: now) }
    }

    /// `ModelTotals`'s columns in `model_totals` and `ledger_model_hours`, in `columnValues`'s order.
    static let modelTotalsNames = [
        "requests", "hits", "misses", "input_tokens", "output_tokens", "cached_input_tokens", "saved_tokens", "saved_compression_tokens",
        "spent_usd", "saved_usd", "saved_compression_usd", "cache_write_tokens", "provider_read_savings_usd", "provider_write_premium_usd",
    ]
    static let modelTotalsColumns = modelTotalsNames.joined(separator: ", ")
    static let modelTotalsPlaceholders = modelTotalsNames.map { _ in "?" }.joined(separator: ", ")
    static let modelTotalsSums = modelTotalsNames.map { "sum(\($0))" }.joined(separator: ", ")

    /// An upsert's `SET` that adds a row of `ModelTotals`'s columns to the stored one.
    static let addModelTotals = modelTotalsNames.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", ")

    /// Optional reads: GRDB traps on a NULL read as a plain `Int`.
    private static func totals(_ row: Row) -> ModelTotals {
        ModelTotals(columns: modelTotalsNames.map { row[$0] as DatabaseValue? ?? .null })
    }

    /// Rows currently kept, for tests and `cache info`.
    func rowCount() async throws -> Int {
        guard let pool else { return 0 }
        try await flush()
        return try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM ledger") ?? 0 }
    }
}

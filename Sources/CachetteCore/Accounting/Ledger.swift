import Foundation
import GRDB
import Synchronization

/// Every request, in the cache's SQLite file: one row each (kept for `retention`) and
/// all-time sums per model (kept for good). Recording is one lock and an append; rows
/// reach SQLite in batches from `flush`. Dollars are fixed when a request is recorded,
/// at the prices of the day, so later price changes do not rewrite history.
package final class Ledger: Sendable {
    let pool: DatabasePool?
    package let prices: PriceTable
    package let retention: Duration
    /// Distinct model names kept apart; later ones are booked as `other`, since names come from clients.
    package let maxModels: Int
    package static let otherModel = "other"
    /// Where requests that named no model are booked: passthrough paths, and requests
    /// refused before their body was read.
    package static let noModel = "(none)"

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
    package struct Booking: Sendable, Equatable {
        public var model: String
        package var spent: Double
        /// By the cache and by compression together.
        public var saved: Double
        package var savedByCompression: Double
        /// The provider's prompt cache: its reads' savings and its writes' premium.
        package var providerReadSavings = 0.0
        package var providerWritePremium = 0.0

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
    package func record(_ record: LedgerRecord) -> Booking {
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

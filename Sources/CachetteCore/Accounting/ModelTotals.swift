import GRDB

/// Per-model sums over a window.
public struct ModelTotals: Sendable, Equatable {
    /// Every booked request: each outcome, refusals and passthrough ones included.
    public var requests = 0
    package var hits = 0
    /// Answered by the upstream with a 2xx after a lookup found nothing (`RequestOutcome.miss`).
    package var misses = 0
    /// Tokens paid for: requests that went upstream.
    package var inputTokens = 0
    package var outputTokens = 0
    package var cachedInputTokens = 0
    /// Prompt tokens written to the provider's prompt cache.
    package var cacheWriteInputTokens = 0
    /// Tokens not paid for: answers served from cache, plus what compression removed.
    package var savedTokens = 0
    package var savedCompressionTokens = 0
    package var spentUSD = 0.0
    /// Everything saved: by the cache and by compression.
    package var savedUSD = 0.0
    package var savedCompressionUSD = 0.0
    /// The provider's prompt cache: what its reads saved against the input price, and
    /// what its writes cost over it. Apart from `savedUSD`, which is Cachette's own.
    package var providerCacheReadSavingsUSD = 0.0
    package var providerCacheWritePremiumUSD = 0.0

    package init() {}

    /// Reads' savings net of the writes' premium: what the provider's cache saved.
    package var savedProviderCacheUSD: Double { providerCacheReadSavingsUSD - providerCacheWritePremiumUSD }

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
    package func normalized() -> ModelTotals {
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
    package var hitRatio: Double { HitRatio.of(hits: hits, misses: misses) }

    /// Saturating: the sums come back from the ledger's file and the shared tier's rows.
    package mutating func add(_ other: ModelTotals) {
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

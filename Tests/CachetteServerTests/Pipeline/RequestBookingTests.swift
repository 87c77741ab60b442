import CachetteCore
import Testing

@testable import CachetteServer

@Suite("Booking a request once")
struct RequestBookingTests {
    static func accounting(_ stats: StatsCounters) throws -> Accounting {
        Accounting(
            stats: stats, ledger: try Ledger(database: nil, prices: PriceTable(), retention: .seconds(86400)),
            metrics: CachetteMetrics(routes: [CachedRoute.chatCompletions.path]))
    }

    static func booked(_ outcome: RequestOutcome) -> BookedRequest {
        BookedRequest(route: CachedRoute.chatCompletions.path, model: "gpt-4o-mini", outcome: outcome)
    }

    @Test("the first booking counts and names the outcome; a later one, from any path, is dropped")
    func firstBookingCounts() throws {
        let stats = StatsCounters()
        let booking = RequestBooking(accounting: try Self.accounting(stats))
        #expect(booking.headOutcome == nil, "nothing booked yet")
        booking.book(Self.booked(.miss))
        booking.book(Self.booked(.error))
        #expect(booking.headOutcome == .miss)
        let counted = stats.snapshot
        #expect(counted.requests == 1 && counted.misses == 1 && counted.upstreamErrors == 0)
    }

    @Test("paths racing to book one request (a stream's end, a reader leaving) book it once")
    func racingBookingsCountOnce() async throws {
        let stats = StatsCounters()
        let booking = RequestBooking(accounting: try Self.accounting(stats))
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<64 { group.addTask { booking.book(Self.booked(i.isMultiple(of: 2) ? .hit : .error)) } }
        }
        let counted = stats.snapshot
        #expect(counted.requests == 1 && counted.hits + counted.upstreamErrors == 1)
    }

    @Test("a stream that ends, and is booked, before its head is sent keeps the head it began with")
    func streamHeadIsItsBeginning() throws {
        let stats = StatsCounters()
        let booking = RequestBooking(accounting: try Self.accounting(stats))
        booking.bookAtEnd()
        booking.book(Self.booked(.error))  // a stream cut at once, faster than the head went out
        #expect(booking.headOutcome == nil, "X-Cache stays what the stream began as, not ERROR")
        #expect(stats.snapshot.upstreamErrors == 1)
    }
}

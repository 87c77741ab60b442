import CachetteCore
import Synchronization

/// A cached-route request's one booking. Whichever way the request ends (answered,
/// refused, failed, or at a stream's end) it is booked through this handle, and only
/// the first booking counts: no path can book a request twice.
final class RequestBooking: Sendable {
    private let accounting: Accounting
    private let booked = Mutex<RequestOutcome?>(nil)

    init(accounting: Accounting) {
        self.accounting = accounting
    }

    /// Books `event`, unless this request is booked already.
    func book(_ event: BookedRequest) {
        let first = booked.withLock { outcome in
            guard outcome == nil else { return false }
            outcome = event.outcome
            return true
        }
        if first { accounting.record(event) }
    }

    /// What the request was booked as; nil until then (a stream books at its end).
    var outcome: RequestOutcome? { booked.withLock { $0 } }
}

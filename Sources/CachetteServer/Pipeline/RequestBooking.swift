import CachetteCore
import Synchronization

/// A cached-route request's one booking. Whichever way the request ends (answered,
/// refused, failed, or at a stream's end) it is booked through this handle, and only
/// the first booking counts: no path can book a request twice.
final class RequestBooking: Sendable {
    private let accounting: Accounting
    private let state = Mutex<(outcome: RequestOutcome?, atEnd: Bool)>((nil, false))

    init(accounting: Accounting) {
        self.accounting = accounting
    }

    /// Books `request`, unless it is booked already.
    func book(_ request: BookedRequest) {
        let first = state.withLock { state in
            guard state.outcome == nil else { return false }
            state.outcome = request.outcome
            return true
        }
        if first { accounting.record(request) }
    }

    /// The request is answered with a live stream, booked when the stream ends: its
    /// head says what it began as, whatever the end books (which may come first).
    func bookAtEnd() {
        state.withLock { $0.atEnd = true }
    }

    /// What the response head should say the request was booked as: nil for a stream
    /// booked at its end, else what it was booked as.
    var headOutcome: RequestOutcome? { state.withLock { $0.atEnd ? nil : $0.outcome } }
}

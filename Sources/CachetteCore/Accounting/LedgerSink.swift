/// Somewhere else every booked request goes too: the shared tier's cluster ledger.
/// Called on the request path, so it must only queue.
package protocol LedgerSink: Sendable {
    func book(_ record: LedgerRecord, _ booking: Ledger.Booking)
}

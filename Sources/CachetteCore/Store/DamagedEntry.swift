/// An entry read back (a SQLite row, a shared row) that may not be served: a value out
/// of range, a frame larger than any answer, an answer a live upstream could not send.
/// A read that meets one is a miss, and the fresh answer replaces the entry.
struct DamagedEntry: Error, CustomStringConvertible {
    let description: String
    init(_ why: String) { description = "a stored entry is damaged: \(why)" }
}

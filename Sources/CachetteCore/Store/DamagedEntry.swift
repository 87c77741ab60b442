/// An entry read back (a SQLite row, a shared row) that may not be served: a value out
/// of range, a frame larger than any answer, an answer a live upstream could not send.
/// A read that meets one is a miss, and the fresh answer replaces the entry.
package struct DamagedEntry: Error, CustomStringConvertible {
    package let description: String
    package init(_ why: String) { description = "a stored entry is damaged: \(why)" }
}

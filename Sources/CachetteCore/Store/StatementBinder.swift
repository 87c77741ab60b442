import Foundation
import GRDB
import GRDBSQLite

/// Runs a prepared write statement with its parameters bound in order through SQLite's
/// C API. `execute(arguments:)` boxes every value as an existential and binds through
/// nested closures: callgrind counted more instructions for that than for SQLite's own
/// insert of a ledger row, once for every hit.
///
/// Only for statements that return no rows, inside a `write` block, on statements
/// no other code binds. Values are copied by SQLite (`SQLITE_TRANSIENT`), so nothing
/// bound has to outlive the call that binds it.
struct StatementBinder: ~Copyable {
    private let statement: Statement
    private let handle: SQLiteStatement
    private var index: CInt = 0

    /// Resets the statement and clears the previous row's values.
    init(_ statement: Statement) {
        self.statement = statement
        handle = statement.sqliteStatement
        // The result repeats the last step's error, which that step already reported.
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    mutating func bind(_ value: Int) throws {
        index += 1
        try check(sqlite3_bind_int64(handle, index, Int64(value)))
    }

    mutating func bind(_ value: Double) throws {
        index += 1
        try check(sqlite3_bind_double(handle, index, value))
    }

    mutating func bind(_ value: Bool) throws { try bind(value ? 1 : 0) }

    mutating func bind(_ value: String) throws {
        index += 1
        var value = value
        let (handle, index) = (handle, index)
        try check(
            value.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { text in
                    // An empty buffer may have no address, and a null pointer binds NULL.
                    guard let base = text.baseAddress else { return sqlite3_bind_text64(handle, index, "", 0, Self.transient, Self.utf8) }
                    return sqlite3_bind_text64(handle, index, base, UInt64(text.count), Self.transient, Self.utf8)
                }
            })
    }

    /// A blob; an empty one is stored as an empty blob, not NULL.
    mutating func bind(blob bytes: some ContiguousBytes) throws {
        index += 1
        let (handle, index) = (handle, index)
        try check(
            bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress, !raw.isEmpty else { return sqlite3_bind_zeroblob(handle, index, 0) }
                return sqlite3_bind_blob64(handle, index, base, UInt64(raw.count), Self.transient)
            })
    }

    mutating func bindNull() throws {
        index += 1
        try check(sqlite3_bind_null(handle, index))
    }

    /// Steps the statement to its end. Throws if fewer or more values were bound than
    /// it has parameters.
    consuming func execute() throws {
        let expected = sqlite3_bind_parameter_count(handle)
        guard index == expected else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "\(index) values bound to \(expected) parameters", sql: statement.sql)
        }
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_DONE: return
            case SQLITE_ROW: continue
            case let code: throw error(code)
            }
        }
    }

    private func check(_ code: CInt) throws {
        guard code == SQLITE_OK else { throw error(code) }
    }

    private func error(_ code: CInt) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))),
            sql: statement.sql)
    }

    /// SQLite copies the value before the bind returns.
    private static var transient: sqlite3_destructor_type { unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self) }
    private static var utf8: UInt8 { UInt8(SQLITE_UTF8) }
}

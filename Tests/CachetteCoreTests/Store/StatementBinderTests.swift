@testable import CachetteCore
import Foundation
import GRDB
import Testing

@Suite("StatementBinder on a real SQLite file")
struct StatementBinderTests {
    private func database() throws -> DatabaseQueue {
        let queue = try DatabaseQueue(path: temporaryDatabasePath())
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (i INTEGER, r REAL, b INTEGER, s TEXT NOT NULL, x BLOB, n TEXT, u TEXT UNIQUE)")
        }
        return queue
    }

    private static let insert = "INSERT INTO t (i, r, b, s, x, n, u) VALUES (?, ?, ?, ?, ?, ?, ?)"

    private func insert(
        _ db: Database, i: Int, r: Double, b: Bool, s: String, x: [UInt8], u: String
    ) throws {
        var values = StatementBinder(try db.cachedStatement(sql: Self.insert))
        try values.bind(i)
        try values.bind(r)
        try values.bind(b)
        try values.bind(s)
        try values.bind(blob: x)
        try values.bindNull()
        try values.bind(u)
        try values.execute()
    }

    @Test("every kind of value reads back as bound, with its SQLite type; empty text and blobs are not NULL")
    func roundTrip() throws {
        let queue = try database()
        let text = "naïve 🦊 \u{0} after a NUL"
        try queue.write { db in
            try insert(db, i: Int.min, r: -0.5, b: true, s: text, x: [0, 1, 255], u: "a")
            try insert(db, i: Int.max, r: 1e300, b: false, s: "", x: [], u: "b")
        }
        let rows = try queue.read { db in
            try Row.fetchAll(
                db, sql: "SELECT i, r, b, s, x, n, typeof(s), typeof(x), typeof(n), typeof(b), CAST(s AS BLOB) FROM t ORDER BY u")
        }
        try #require(rows.count == 2)
        #expect(rows[0][0] as Int == Int.min && rows[0][1] as Double == -0.5 && rows[0][2] as Int == 1)
        // Every byte, the NUL and what follows it included (GRDB's reader stops at a NUL).
        #expect(rows[0][10] as Data == Data(text.utf8))
        #expect(rows[0][4] as Data == Data([0, 1, 255]))
        #expect(rows[0][5] as String? == nil && rows[0][8] as String == "null")
        #expect(rows[0][6] as String == "text" && rows[0][7] as String == "blob" && rows[0][9] as String == "integer")
        #expect(rows[1][0] as Int == Int.max && rows[1][1] as Double == 1e300 && rows[1][2] as Int == 0)
        #expect(rows[1][10] as Data == Data() && rows[1][6] as String == "text")
        #expect(rows[1][4] as Data == Data() && rows[1][7] as String == "blob")
    }

    @Test("a value short of the statement's parameters throws and stores nothing")
    func tooFew() throws {
        let queue = try database()
        let error = try queue.write { db -> DatabaseError? in
            var values = StatementBinder(try db.cachedStatement(sql: Self.insert))
            try values.bind(1)
            do {
                try values.execute()
                return nil
            } catch let error as DatabaseError {
                return error
            }
        }
        #expect(error?.resultCode == .SQLITE_MISUSE)
        #expect(try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM t") } == 0)
    }

    @Test("a failed step throws SQLite's error, and the same statement binds the next row afresh")
    func reuseAfterFailure() throws {
        let queue = try database()
        try queue.write { db in
            try insert(db, i: 1, r: 1, b: true, s: "first", x: [1], u: "same")
            #expect(throws: DatabaseError.self) { try insert(db, i: 2, r: 2, b: true, s: "second", x: [2], u: "same") }
            try insert(db, i: 3, r: 3, b: false, s: "third", x: [3], u: "other")
        }
        let rows = try queue.read { db in try Row.fetchAll(db, sql: "SELECT i, s FROM t ORDER BY i") }
        #expect(rows.map { $0[0] as Int } == [1, 3])
        #expect(rows.map { $0[1] as String } == ["first", "third"])
    }
}

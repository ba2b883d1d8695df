import CSQLite

/// The few parts of SQLite's C API the spool uses: a connection, prepared statements, and errors
/// that name the operation and SQLite's message.
///
/// Written by hand: the SQLite packages mirrored here either build their own SQLite (sqlite-nio) or
/// bring a whole query layer (GRDB, fluent); the spool needs a handful of fixed statements on
/// Debian's libsqlite3. Not thread-safe: one thread uses a connection.
final class SQLiteDatabase {
    private var handle: OpaquePointer?
    let path: String

    init(path: String) throws(SpoolError) {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &db, flags, nil)
        guard result == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw .database(path: path, operation: "open", message: message)
        }
        handle = db
    }

    deinit { close() }

    func close() {
        guard let handle else { return }
        sqlite3_close_v2(handle)
        self.handle = nil
    }

    /// Runs statements that return no rows.
    func execute(_ sql: String) throws(SpoolError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(handle, sql, nil, nil, &errorMessage) == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? lastError
            sqlite3_free(errorMessage)
            throw .database(path: path, operation: sql, message: message)
        }
    }

    func prepare(_ sql: String) throws(SpoolError) -> Statement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
            let statement
        else {
            throw .database(path: path, operation: "prepare \(sql)", message: lastError)
        }
        return Statement(statement, database: self, sql: sql)
    }

    var lastError: String {
        handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed"
    }

    /// A prepared statement, reset after every run so it can be used again.
    final class Statement {
        private let statement: OpaquePointer
        private unowned let database: SQLiteDatabase
        private let sql: String

        fileprivate init(_ statement: OpaquePointer, database: SQLiteDatabase, sql: String) {
            self.statement = statement
            self.database = database
            self.sql = sql
        }

        deinit { sqlite3_finalize(statement) }

        /// SQLite copies bound text and blobs (`SQLITE_TRANSIENT`): the Swift buffers may go at once.
        private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

        func bind(_ index: Int32, _ value: Int64) {
            sqlite3_bind_int64(statement, index, value)
        }

        func bind(_ index: Int32, _ value: String) {
            sqlite3_bind_text(statement, index, value, -1, Self.transient)
        }

        func bind(_ index: Int32, bytes: UnsafeRawBufferPointer) {
            // A zero-length blob still needs a non-null pointer, or SQLite stores NULL.
            let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
            sqlite3_bind_blob(statement, index, base, Int32(bytes.count), Self.transient)
        }

        /// Runs a statement that returns no rows.
        func run() throws(SpoolError) {
            defer { sqlite3_reset(statement) }
            let result = sqlite3_step(statement)
            guard result == SQLITE_DONE else {
                throw .database(path: database.path, operation: sql, message: database.lastError)
            }
        }

        /// Runs a query, calling `row` for each row it returns.
        func query(_ row: (Row) throws(SpoolError) -> Void) throws(SpoolError) {
            defer { sqlite3_reset(statement) }
            while true {
                let result = sqlite3_step(statement)
                if result == SQLITE_DONE { return }
                guard result == SQLITE_ROW else {
                    throw .database(path: database.path, operation: sql, message: database.lastError)
                }
                try row(Row(statement: statement))
            }
        }
    }

    /// One row of a query, valid only inside the `query` callback.
    struct Row {
        fileprivate let statement: OpaquePointer

        func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

        func string(_ column: Int32) -> String {
            guard let text = sqlite3_column_text(statement, column) else { return "" }
            return String(cString: text)
        }

        func bytes(_ column: Int32) -> UnsafeRawBufferPointer {
            let count = Int(sqlite3_column_bytes(statement, column))
            guard let base = sqlite3_column_blob(statement, column), count > 0 else {
                return UnsafeRawBufferPointer(start: nil, count: 0)
            }
            return UnsafeRawBufferPointer(start: base, count: count)
        }
    }
}

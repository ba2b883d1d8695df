import Foundation
import NIOCore

/// The spool on disk: an SQLite database in WAL mode with `synchronous=FULL`, so a committed write
/// is on the storage (fsync) before `write` returns and survives SIGKILL and power loss.
///
/// Synchronous and not thread-safe: `Spool` confines it to one thread.
public final class SpoolStore {
    /// What the spool holds when it is opened.
    public struct Summary: Sendable, Equatable {
        public var count: Int
        public var bytes: Int
        /// The highest sequence ever stored, 0 for a new spool.
        public var lastSequence: UInt64
    }

    public static let fileName = "spool.sqlite3"

    public let path: String
    private let database: SQLiteDatabase
    private let lockDescriptor: Int32
    private let insert: SQLiteDatabase.Statement
    private let delete: SQLiteDatabase.Statement
    private let select: SQLiteDatabase.Statement

    /// Opens (creating when missing) the spool in `directory`, holding its lock until `close`.
    public init(directory: String) throws(SpoolError) {
        try Self.makeDirectory(directory)
        let lockPath = directory + "/lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .directory(path: directory, detail: "cannot create \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            Foundation.close(descriptor)
            throw .locked(path: directory)
        }
        path = directory + "/" + Self.fileName
        do {
            database = try SQLiteDatabase(path: path)
            try database.execute(
                """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = FULL;
                CREATE TABLE IF NOT EXISTS messages (
                    sequence INTEGER PRIMARY KEY,
                    client TEXT NOT NULL,
                    topic TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    qos INTEGER NOT NULL,
                    retain INTEGER NOT NULL,
                    accepted_ms INTEGER NOT NULL
                );
                """)
            insert = try database.prepare(
                "INSERT INTO messages (sequence, client, topic, payload, qos, retain, accepted_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"
            )
            delete = try database.prepare("DELETE FROM messages WHERE sequence = ?")
            select = try database.prepare(
                "SELECT sequence, client, topic, payload, qos, retain FROM messages WHERE sequence >= ? ORDER BY sequence LIMIT ?"
            )
        } catch {
            Foundation.close(descriptor)
            throw error
        }
        lockDescriptor = descriptor
    }

    deinit { close() }

    private var closed = false

    public func close() {
        guard !closed else { return }
        closed = true
        database.close()
        Foundation.close(lockDescriptor)
    }

    public func summary() throws(SpoolError) -> Summary {
        var summary = Summary(count: 0, bytes: 0, lastSequence: 0)
        let statement = try database.prepare(
            "SELECT COUNT(*), COALESCE(SUM(length(CAST(topic AS BLOB)) + length(payload)), 0), COALESCE(MAX(sequence), 0) FROM messages"
        )
        try statement.query { row in
            summary = Summary(count: Int(row.int64(0)), bytes: Int(row.int64(1)), lastSequence: UInt64(row.int64(2)))
        }
        return summary
    }

    /// Stores `inserts` and removes `deletes` in one transaction, durable when this returns.
    public func write(inserts: [SpoolRecord], deletes: [UInt64]) throws(SpoolError) {
        guard !inserts.isEmpty || !deletes.isEmpty else { return }
        try database.execute("BEGIN IMMEDIATE")
        do {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for record in inserts {
                insert.bind(1, Int64(record.sequence))
                insert.bind(2, record.clientID)
                insert.bind(3, record.topic)
                record.payload.withUnsafeReadableBytes { insert.bind(4, bytes: $0) }
                insert.bind(5, Int64(record.qos))
                insert.bind(6, record.retain ? 1 : 0)
                insert.bind(7, now)
                try insert.run()
            }
            for sequence in deletes {
                delete.bind(1, Int64(sequence))
                try delete.run()
            }
            try database.execute("COMMIT")
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
    }

    /// Up to `limit` records from `sequence` on, in order, stopping after `maximumBytes`.
    public func records(from sequence: UInt64, limit: Int, maximumBytes: Int = .max) throws(SpoolError) -> [SpoolRecord]
    {
        var records: [SpoolRecord] = []
        var bytes = 0
        select.bind(1, Int64(sequence))
        select.bind(2, Int64(limit))
        try select.query { row in
            // The query reads on while it has rows; those past the byte bound are skipped.
            guard bytes < maximumBytes else { return }
            let record = SpoolRecord(
                sequence: UInt64(row.int64(0)), clientID: row.string(1), topic: row.string(2),
                payload: ByteBuffer(bytes: row.bytes(3)), qos: UInt8(truncatingIfNeeded: row.int64(4)),
                retain: row.int64(5) != 0)
            bytes += record.size
            records.append(record)
        }
        return records
    }

    private static func makeDirectory(_ directory: String) throws(SpoolError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .directory(path: directory, detail: "it is not a directory") }
            guard access(directory, W_OK | X_OK) == 0 else {
                throw .directory(path: directory, detail: "not writable (\(String(cString: strerror(errno))))")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .directory(path: directory, detail: "cannot create it (\(error.localizedDescription))")
        }
    }
}

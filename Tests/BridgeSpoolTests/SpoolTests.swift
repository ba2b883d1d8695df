import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import BridgeSpool

/// A fresh directory under the temporary directory, removed by `remove()`.
struct ScratchDirectory {
    let path = NSTemporaryDirectory() + "spool-test-" + UUID().uuidString

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func record(_ sequence: UInt64, _ payload: String = "payload", topic: String = "a/b", retain: Bool = false)
    -> SpoolRecord
{
    SpoolRecord(
        sequence: sequence, clientID: "client-\(sequence % 3)", topic: topic, payload: ByteBuffer(string: payload),
        qos: 1, retain: retain)
}

@Suite struct SpoolStoreTests {
    @Test("what was written is there after closing and opening again, in order, byte-exact")
    func survivesReopening() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let binary = ByteBuffer(bytes: (0..<300).map { UInt8($0 % 256) })
        let written = [
            record(1), record(2, "", topic: "empty/payload"), record(3, retain: true),
            SpoolRecord(sequence: 4, clientID: "c", topic: "bin/ä", payload: binary, qos: 2, retain: false),
        ]
        do {
            let store = try SpoolStore(directory: directory.path)
            try store.write(inserts: written, deletes: [])
            store.close()
        }
        let store = try SpoolStore(directory: directory.path)
        defer { store.close() }
        #expect(try store.records(from: 0, limit: 100) == written)
        let summary = try store.summary()
        #expect(summary.count == 4)
        #expect(summary.bytes == written.reduce(0) { $0 + $1.size })
        #expect(summary.lastSequence == 4)
    }

    @Test("deletes remove exactly the named records; reads start at a sequence and stop at a limit or byte bound")
    func deletesAndBoundedReads() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let store = try SpoolStore(directory: directory.path)
        defer { store.close() }
        try store.write(inserts: (1...10).map { record($0, String(repeating: "x", count: 10)) }, deletes: [])
        try store.write(inserts: [record(11)], deletes: [2, 5])
        #expect(try store.records(from: 0, limit: 100).map(\.sequence) == [1, 3, 4, 6, 7, 8, 9, 10, 11])
        #expect(try store.records(from: 4, limit: 3).map(\.sequence) == [4, 6, 7])
        // Each record is 13 bytes (3 topic + 10 payload): the third one crosses 30.
        #expect(try store.records(from: 0, limit: 100, maximumBytes: 30).map(\.sequence) == [1, 3, 4])
        #expect(try store.summary().count == 9)
    }

    @Test("a second opener of the same directory is refused with a clear error")
    func lockedBySomeoneElse() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let store = try SpoolStore(directory: directory.path)
        defer { store.close() }
        #expect {
            _ = try SpoolStore(directory: directory.path)
        } throws: { error in
            "\(error)".contains("in use by another process")
        }
    }

    @Test("a path that is a file, or a directory that cannot be created, is a clear error")
    func unusableDirectory() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        _ = FileManager.default.createFile(atPath: directory.path, contents: Data("x".utf8))
        #expect {
            _ = try SpoolStore(directory: directory.path)
        } throws: { error in
            "\(error)".contains("it is not a directory") && "\(error)".contains("--spool")
        }
        #expect {
            _ = try SpoolStore(directory: directory.path + "/below-a-file")
        } throws: { error in
            "\(error)".contains("cannot create it")
        }
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
}

@Suite struct SpoolGroupCommitTests {
    /// Runs `body` on a fresh event loop with a spool in a scratch directory, then closes both.
    func withSpool<Value: Sendable>(
        _ directory: ScratchDirectory, _ body: @escaping (Spool) -> EventLoopFuture<Value>
    ) throws -> Value {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        // The body and the spool are only touched on `loop`.
        let body = UncheckedSendable(value: body)
        return try loop.flatSubmit { () -> EventLoopFuture<Value> in
            let spool: Spool
            do {
                spool = try Spool(directory: directory.path, eventLoop: loop, logger: Logger(label: "test"))
            } catch {
                return loop.makeFailedFuture(error)
            }
            return body.value(spool).assumeIsolated().flatMap { value in spool.close().map { value } }.nonisolated()
        }.wait()
    }

    @Test("appends made during one write go out together in the next, and each future succeeds once on disk")
    func groupsAppendsIntoFewCommits() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let total = 2000
        let seen = try withSpool(directory) { spool in
            let futures = (0..<total).map { n in
                spool.append(clientID: "c", topic: "t/\(n)", payload: ByteBuffer(string: "\(n)"), qos: 1, retain: false)
                    .written
            }
            #expect(spool.count == total)
            return EventLoopFuture.andAllSucceed(futures, on: spool.eventLoop).assumeIsolated().map {
                #expect(spool.uncommittedCount == 0)
                return spool.counters
            }.nonisolated()
        }
        #expect(seen.committedRecords == total)
        // The first append starts a write alone; everything after it gathers behind it.
        #expect(seen.commits < total / 10, "\(seen.commits) commits for \(total) appends")
        let store = try SpoolStore(directory: directory.path)
        defer { store.close() }
        let stored = try store.records(from: 0, limit: total + 1)
        let expected: [String] = (0..<total).map { "t/\($0)" }
        #expect(stored.map(\.topic) == expected)
    }

    @Test("removals reach the disk, sequences go on after a restart, and reads see what was written")
    func removalsAndRestart() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        try withSpool(directory) { spool in
            let appended = (0..<5).map { n in
                spool.append(clientID: "c", topic: "t", payload: ByteBuffer(string: "\(n)"), qos: 1, retain: false)
            }
            spool.remove(appended[1].record.sequence, size: appended[1].record.size)
            #expect(spool.count == 4)
            #expect(spool.bytes == 4 * 2)
            return EventLoopFuture.andAllSucceed(appended.map(\.written), on: spool.eventLoop).assumeIsolated().flatMap
            {
                spool.records(from: 0, limit: 10, maximumBytes: .max)
            }.nonisolated().map { records in
                #expect(records.map(\.sequence) == [1, 3, 4, 5])
            }
        }
        try withSpool(directory) { spool in
            #expect(spool.count == 4)
            #expect(spool.lastSequence == 5)
            let next = spool.append(clientID: "c", topic: "t", payload: ByteBuffer(), qos: 1, retain: false)
            #expect(next.record.sequence == 6)
            return next.written
        }
    }
}

import Logging
import NIOCore
import NIOPosix

/// The durable outbound queue with group commit, used from one event loop.
///
/// `append` hands a record to the writer thread and returns a future that succeeds once the record
/// is on disk. While one transaction is being written and synced, new appends and removals gather;
/// the next transaction takes them all. One fsync thus covers as many messages as arrived during
/// the previous one, so the spool keeps up with any rate the disk's sync latency allows, without a
/// timer. A failed write (disk full, I/O error) is retried every second with everything gathered
/// meanwhile; its records stay unacknowledged until then.
public final class Spool {
    public struct Counters: Sendable, Equatable {
        /// Transactions written, and the records they stored.
        public var commits = 0
        public var committedRecords = 0
        public var failedCommits = 0
        public var lastError: String?
    }

    public let directory: String
    public let eventLoop: any EventLoop
    /// Records in the spool (written or on their way), and their topic + payload bytes.
    public private(set) var count: Int
    public private(set) var bytes: Int
    /// Records appended but not yet on disk.
    public var uncommittedCount: Int { gathered.inserts.count + writing }
    public private(set) var counters = Counters()
    /// The sequence of the last record appended (0 before the first).
    public private(set) var lastSequence: UInt64

    private let store: StoreBox
    private let writer: NIOThreadPool
    private let logger: Logger
    private var gathered = Batch()
    private var writing = 0
    private var writeInProgress = false
    private var closing: EventLoopPromise<Void>?

    private struct Batch {
        var inserts: [SpoolRecord] = []
        var promises: [EventLoopPromise<Void>] = []
        var deletes: [UInt64] = []
        var isEmpty: Bool { inserts.isEmpty && deletes.isEmpty }
    }

    /// The store, reached only from the writer's single thread.
    private final class StoreBox: @unchecked Sendable {
        let store: SpoolStore
        init(_ store: SpoolStore) { self.store = store }
    }

    /// Opens the spool in `directory` (see `SpoolStore`); call on `eventLoop`.
    public init(directory: String, eventLoop: any EventLoop, logger: Logger) throws(SpoolError) {
        let store = try SpoolStore(directory: directory)
        let summary: SpoolStore.Summary
        do {
            summary = try store.summary()
        } catch {
            store.close()
            throw error
        }
        self.directory = directory
        self.eventLoop = eventLoop
        self.logger = logger
        self.store = StoreBox(store)
        count = summary.count
        bytes = summary.bytes
        lastSequence = summary.lastSequence
        // One thread: transactions and reads run in the order they were asked for.
        writer = NIOThreadPool(numberOfThreads: 1)
        writer.start()
    }

    /// Stores a publish; the future succeeds once it is on disk. It fails only when the spool is
    /// closed before it could be written.
    public func append(
        clientID: String, topic: String, payload: ByteBuffer, qos: UInt8, retain: Bool
    ) -> (record: SpoolRecord, written: EventLoopFuture<Void>) {
        eventLoop.preconditionInEventLoop()
        lastSequence += 1
        let record = SpoolRecord(
            sequence: lastSequence, clientID: clientID, topic: topic, payload: payload, qos: qos, retain: retain)
        let promise = eventLoop.makePromise(of: Void.self)
        gathered.inserts.append(record)
        gathered.promises.append(promise)
        count += 1
        bytes += record.size
        writeIfIdle()
        return (record, promise.futureResult)
    }

    /// Takes a record out (the broker acknowledged it, or it was dropped). `size` is its `SpoolRecord.size`.
    public func remove(_ sequence: UInt64, size: Int) {
        eventLoop.preconditionInEventLoop()
        gathered.deletes.append(sequence)
        count -= 1
        bytes -= size
        writeIfIdle()
    }

    /// Reads up to `limit` records from `sequence` on, as written so far: records whose `append`
    /// future has not succeeded yet may be missing.
    public func records(from sequence: UInt64, limit: Int, maximumBytes: Int) -> EventLoopFuture<[SpoolRecord]> {
        let store = self.store
        return writer.runIfActive(eventLoop: eventLoop) {
            try store.store.records(from: sequence, limit: limit, maximumBytes: maximumBytes)
        }
    }

    /// Writes what is gathered, then closes the store and stops the writer thread.
    public func close() -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        let promise = eventLoop.makePromise(of: Void.self)
        closing = promise
        // A write in progress (or waiting to retry) finishes the closing when it completes.
        if !writeInProgress {
            writeIfIdle()
            if !writeInProgress { finishClosing() }
        }
        return promise.futureResult
    }

    private func writeIfIdle() {
        guard !writeInProgress, !gathered.isEmpty else { return }
        let batch = gathered
        gathered = Batch()
        writeInProgress = true
        writing = batch.inserts.count
        let store = self.store
        let inserts = batch.inserts
        let deletes = batch.deletes
        writer.runIfActive(eventLoop: eventLoop) {
            try store.store.write(inserts: inserts, deletes: deletes)
        }.assumeIsolated().whenComplete { [self] result in
            writeInProgress = false
            writing = 0
            switch result {
            case .success:
                counters.commits += 1
                counters.committedRecords += batch.inserts.count
                if counters.lastError != nil {
                    logger.notice("spool \(directory): writing works again")
                    counters.lastError = nil
                }
                for promise in batch.promises { promise.succeed() }
                writeIfIdle()
                if !writeInProgress, closing != nil { finishClosing() }
            case .failure(let error):
                counters.failedCommits += 1
                if counters.lastError == nil {
                    logger.error(
                        "spool \(directory): cannot write \(batch.inserts.count) messages: \(error); retrying every second, the publishers wait for their acknowledgements"
                    )
                }
                counters.lastError = "\(error)"
                // Back in front of what gathered meanwhile, so the order on disk stays the order of acceptance.
                gathered = Batch(
                    inserts: batch.inserts + gathered.inserts, promises: batch.promises + gathered.promises,
                    deletes: batch.deletes + gathered.deletes)
                if closing != nil {
                    finishClosing()
                    return
                }
                writeInProgress = true
                eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [self] in
                    writeInProgress = false
                    writeIfIdle()
                }
            }
        }
    }

    private func finishClosing() {
        guard let closing else { return }
        self.closing = nil
        if !gathered.promises.isEmpty {
            logger.warning(
                "spool \(directory): stopping with \(gathered.promises.count) messages not written; their publishers were not acknowledged"
            )
        }
        for promise in gathered.promises {
            promise.fail(SpoolError.database(path: directory, operation: "close", message: "stopped"))
        }
        gathered = Batch()
        let store = self.store
        let writer = self.writer
        writer.runIfActive(eventLoop: eventLoop) { store.store.close() }.whenComplete { _ in
            writer.shutdownGracefully { _ in closing.succeed(()) }
        }
    }
}

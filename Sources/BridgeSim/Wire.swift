import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which way bytes travel on the simulated wire.
public enum WireDirection: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Host TX → ESP RX: what the daemon writes reaches the firmware.
    case hostToESP
    /// ESP TX → host RX: what the firmware (or the ROM at boot) writes reaches the daemon.
    case espToHost

    public var description: String {
        switch self {
        case .hostToESP: return "host→esp"
        case .espToHost: return "esp→host"
        }
    }
}

/// One step every chunk passes through on its way along one direction of the wire.
///
/// This is where line faults go (a later issue adds baud pacing, bit errors, line cuts): a stage
/// may change bytes, drop some, add some or empty the chunk. Stages of a direction run in order
/// on that direction's own thread, one chunk at a time and in wire order, never under a lock; so a
/// stage may keep state without locking and may block. A pacing stage that sleeps for the chunk's
/// transmission time makes the sender's writes back up exactly as a real UART's transmit buffer
/// would, without delaying the other direction.
public protocol WireStage: AnyObject, Sendable {
    /// Transforms `chunk` in place. `direction` is the direction the stage is installed on.
    func process(_ chunk: inout [UInt8], direction: WireDirection)
}

/// Counters of one direction of the wire.
public struct WireStatistics: Sendable, Equatable {
    /// Bytes written to the receiving side.
    public var delivered: UInt64 = 0
    /// Bytes lost because the receiver did not read (its buffers full): a UART overrun.
    public var overrun: UInt64 = 0
    /// Bytes thrown away because the receiver was not listening (the ESP held in reset or rebooting).
    public var discarded: UInt64 = 0
}

/// The simulated UART wire between the host's pseudo-terminal and the ESP's.
///
/// Each direction is a *lane* with its own thread: it reads what one side's program wrote (in
/// chunks of up to 64 KiB, never byte by byte), passes it through the lane's `WireStage`s and
/// writes it to the other side. Like a real UART without flow control the sender is never held
/// up by a slow receiver: the lane buffers up to `receiverBufferLimit` bytes beyond the kernel's
/// own PTY buffer and drops (and counts, and logs) what does not fit.
public final class Wire: Sendable {
    private let lanes: [WireDirection: WireLane]

    /// Creates the wire; nothing moves until `start()`.
    /// - Parameters:
    ///   - host: the pair whose replica the daemon opens.
    ///   - esp: the pair whose replica the firmware opens.
    ///   - stages: the stages per direction, applied in order.
    ///   - receiverBufferLimit: bytes a lane holds for a receiver that is not reading before it
    ///     starts dropping.
    public init(
        host: PseudoTerminal,
        esp: PseudoTerminal,
        stages: [WireDirection: [any WireStage]] = [:],
        receiverBufferLimit: Int = 64 * 1024,
        logger: Logger
    ) throws(SimulatorError) {
        lanes = [
            .hostToESP: try WireLane(
                direction: .hostToESP, from: host, to: esp,
                stages: stages[.hostToESP] ?? [], limit: receiverBufferLimit, logger: logger),
            .espToHost: try WireLane(
                direction: .espToHost, from: esp, to: host,
                stages: stages[.espToHost] ?? [], limit: receiverBufferLimit, logger: logger),
        ]
    }

    /// Starts relaying in both directions.
    public func start() throws(SimulatorError) {
        for direction in WireDirection.allCases { try lanes[direction]!.start() }
    }

    /// Stops relaying and waits for both lane threads to end. Bytes still buffered are dropped.
    public func stop() {
        for direction in WireDirection.allCases { lanes[direction]!.stop() }
    }

    /// Puts `bytes` on the wire as if the sending side of `direction` had written them (the ROM's
    /// boot log, say). They pass through the lane's stages and keep their order relative to
    /// relayed traffic.
    public func inject(_ bytes: [UInt8], _ direction: WireDirection) {
        lanes[direction]!.inject(bytes)
    }

    /// Turns the receiver of `direction` on or off. While off, everything travelling that way is
    /// discarded, including bytes already buffered in the lane. When this returns `false`, the lane
    /// is guaranteed to write nothing more to the receiver until it is turned on again, so the
    /// caller may then flush the receiver's PTY and know it stays empty.
    public func setReceiverListening(_ listening: Bool, _ direction: WireDirection) {
        lanes[direction]!.setListening(listening)
    }

    /// The counters of one direction.
    public func statistics(_ direction: WireDirection) -> WireStatistics {
        lanes[direction]!.statistics
    }
}

/// One direction of the wire: a thread that moves bytes from one PTY controller to the other.
final class WireLane: Sendable {
    private struct Shared {
        var inbox: [[UInt8]] = []
        var listening = true
        var stopping = false
        var statistics = WireStatistics()
    }

    private let direction: WireDirection
    private let source: PseudoTerminal
    private let destination: PseudoTerminal
    private let stages: [any WireStage]
    private let limit: Int
    private let logger: Logger
    private let shared = NIOLockedValueBox(Shared())
    /// Self-pipe that wakes the lane's `poll` for injections, listening changes and stop.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let thread = NIOLockedValueBox<SimThread?>(nil)

    init(
        direction: WireDirection, from source: PseudoTerminal, to destination: PseudoTerminal,
        stages: [any WireStage], limit: Int, logger: Logger
    ) throws(SimulatorError) {
        self.direction = direction
        self.source = source
        self.destination = destination
        self.stages = stages
        self.limit = limit
        self.logger = logger
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw .posix("cannot create the wire's wake-up pipe", hint: "too many open files?")
        }
        for fd in fds {
            POSIX.setCloseOnExec(fd)
            POSIX.setNonBlocking(fd)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    var statistics: WireStatistics { shared.withLockedValue { $0.statistics } }

    func start() throws(SimulatorError) {
        let started = try SimThread(name: "wire \(direction)") { [self] in run() }
        thread.withLockedValue { $0 = started }
    }

    func stop() {
        shared.withLockedValue { $0.stopping = true }
        wake()
        thread.withLockedValue { $0 }?.join()
    }

    func inject(_ bytes: [UInt8]) {
        shared.withLockedValue { $0.inbox.append(bytes) }
        wake()
    }

    func setListening(_ listening: Bool) {
        // The lane writes to the receiver only while holding this lock and after checking the
        // flag, so once this returns with `false` no further byte reaches the receiver.
        shared.withLockedValue { $0.listening = listening }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)  // EAGAIN means a wake-up is already pending: fine.
    }

    // MARK: - The lane's thread

    private func run() {
        let chunkSize = 64 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 1)
        defer { buffer.deallocate() }
        var pending = PendingBytes()
        var overrunEpisode: UInt64 = 0
        var sourceBroken = false
        var sourceErrorLogged = false

        while true {
            var fds = [
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                pollfd(fd: sourceBroken ? -1 : source.controller, events: Int16(POLLIN), revents: 0),
                pollfd(fd: destination.controller, events: pending.isEmpty ? 0 : Int16(POLLOUT), revents: 0),
            ]
            // A broken source (should not happen: we hold its replica) is retried now and then
            // instead of spinning on POLLHUP.
            let timeout: Int32 = sourceBroken ? 100 : -1
            if poll(&fds, nfds_t(fds.count), timeout) < 0 && errno != EINTR {
                logger.error("wire \(direction): poll failed: \(String(cString: strerror(errno)))")
                POSIX.sleep(milliseconds: 10)
            }
            if sourceBroken && timeout > 0 { sourceBroken = false }

            // 1. What arrived: injected bytes first (they were queued before we woke), then the
            //    sender's bytes. Neither step holds the lock, so stages may take their time.
            if fds[0].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &drain, drain.count) > 0 {}
            }
            let (injected, stopping) = shared.withLockedValue { state in
                defer { state.inbox.removeAll() }
                return (state.inbox, state.stopping)
            }
            if stopping { return }
            var incoming: [[UInt8]] = injected
            var direct = 0  // bytes in `buffer` not yet copied out (fast path)
            if fds[1].revents != 0 {
                let count = read(source.controller, buffer.baseAddress, chunkSize)
                if count > 0 {
                    sourceErrorLogged = false
                    if stages.isEmpty && incoming.isEmpty && pending.isEmpty {
                        direct = count
                    } else {
                        incoming.append(Array(buffer[0..<count]))
                    }
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    if !sourceErrorLogged {
                        let reason = count == 0 ? "end of file" : String(cString: strerror(errno))
                        logger.error("wire \(direction): read failed: \(reason); retrying every 100 ms")
                        sourceErrorLogged = true
                    }
                    sourceBroken = true
                }
            }
            var dropped = 0
            for var chunk in incoming {
                for stage in stages { stage.process(&chunk, direction: direction) }
                dropped += pending.append(chunk, limit: limit)
            }

            // 2. Delivery, under the lock so `setListening(false)` is a hard barrier.
            let drained: Bool = shared.withLockedValue { state in
                guard state.listening else {
                    state.statistics.discarded += UInt64(pending.count + direct)
                    pending.removeAll()
                    return true
                }
                if direct > 0 {
                    let written = max(write(destination.controller, buffer.baseAddress, direct), 0)
                    state.statistics.delivered += UInt64(written)
                    if written < direct {
                        dropped += pending.append(Array(buffer[written..<direct]), limit: limit)
                    }
                }
                if !pending.isEmpty {
                    let written = pending.withUnsafeBytes { write(destination.controller, $0.baseAddress, $0.count) }
                    if written > 0 {
                        pending.consume(written)
                        state.statistics.delivered += UInt64(written)
                    }
                }
                state.statistics.overrun += UInt64(dropped)
                return pending.isEmpty
            }

            // Say it once per episode: when bytes are first lost, and how many once the receiver
            // has caught up again.
            if dropped > 0 {
                if overrunEpisode == 0 {
                    logger.warning(
                        "wire \(direction): receiver is not reading and its buffers are full; dropping bytes (UART overrun)"
                    )
                }
                overrunEpisode += UInt64(dropped)
            }
            if drained && overrunEpisode > 0 {
                logger.warning("wire \(direction): overrun over; \(overrunEpisode) bytes were lost in all")
                overrunEpisode = 0
            }
        }
    }
}

/// Bytes read from the sender that the receiver has not taken yet, in order.
struct PendingBytes {
    private var storage: [UInt8] = []
    private var start = 0

    var isEmpty: Bool { start == storage.count }
    var count: Int { storage.count - start }

    /// Appends `bytes`, keeping at most `limit` bytes pending; returns how many were dropped.
    /// The newest bytes are the ones lost, as in a UART overrun.
    mutating func append(_ bytes: [UInt8], limit: Int) -> Int {
        let room = max(0, limit - count)
        if start > 0 && start >= storage.count / 2 {
            storage.removeFirst(start)
            start = 0
        }
        if bytes.count <= room {
            storage.append(contentsOf: bytes)
            return 0
        }
        storage.append(contentsOf: bytes[0..<room])
        return bytes.count - room
    }

    mutating func consume(_ count: Int) {
        start += count
        if start == storage.count {
            storage.removeAll(keepingCapacity: true)
            start = 0
        }
    }

    mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
        start = 0
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start...])) }
    }
}

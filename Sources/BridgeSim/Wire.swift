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
/// This is where line faults go (`LineCut`, `SpeedMismatchGarbler`, `BitErrorInjector`,
/// `FrozenReceiverFIFO`): a stage may change bytes, drop some, add some or empty the chunk.
/// Stages of a direction run in order on that direction's own thread, one chunk at a time and in
/// wire order, never under the lane's lock; so a stage may keep state and may block (briefly:
/// a blocked stage holds up its direction, and on a paced wire delays every byte behind it).
///
/// On a paced wire (see `LineSpeeds`) the stages see bytes when they have *finished crossing the
/// line*, a few at a time: the pacer is not a stage but the lane's transmit queue, because a
/// stage can only transform a chunk while the pacer must hand bytes out gradually. So a fault
/// that depends on time (a cut) hits exactly the bytes on the line at that time.
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
    /// Bytes put on the wire by `Wire.inject` (boot noise, `noise` commands) rather than the sender.
    public var injected: UInt64 = 0
}

/// The simulated UART wire between the host's pseudo-terminal and the ESP's.
///
/// Each direction is a *lane* with its own thread: it reads what one side's program wrote (in
/// chunks of up to 64 KiB, never byte by byte), passes it through the lane's `WireStage`s and
/// writes it to the other side. Like a real UART without flow control the sender is never held
/// up by a slow receiver: the lane buffers up to `receiverBufferLimit` bytes beyond the kernel's
/// own PTY buffer and drops (and counts, and logs) what does not fit.
///
/// Pacing: while `speeds` is tracking, each lane sends at its sender's speed (10 bit-times a
/// byte, `UARTPacer`). It reads only about 10 ms of line time ahead from the sender, so a sender
/// that writes faster than the line backs up in its PTY as it would in a UART driver's transmit
/// buffer, and it hands bytes to the stages and the receiver as they finish crossing the line,
/// waking at most every `pacingQuantumNanoseconds` (a byte is late by at most that plus the
/// scheduler's latency, never early). Without tracking the wire is as fast as the PTYs.
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
        speeds: LineSpeeds? = nil,
        receiverBufferLimit: Int = 64 * 1024,
        logger: Logger
    ) throws(SimulatorError) {
        lanes = [
            .hostToESP: try WireLane(
                direction: .hostToESP, from: host, to: esp, stages: stages[.hostToESP] ?? [],
                speeds: speeds, limit: receiverBufferLimit, logger: logger),
            .espToHost: try WireLane(
                direction: .espToHost, from: esp, to: host, stages: stages[.espToHost] ?? [],
                speeds: speeds, limit: receiverBufferLimit, logger: logger),
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
    /// boot log, say). They pass through the lane's stages (and its pacing) and keep their order
    /// relative to relayed traffic.
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

    /// The least time between two releases on a paced line. Waking for every byte at 921600 baud
    /// (10.9 µs) would cost a core; every 250 µs keeps each byte within a fraction of a millisecond
    /// of its time at any speed.
    static let pacingQuantumNanoseconds: UInt64 = 250_000

    /// How often an idle lane on a paced wire looks at the speeds: a switch is placed in the byte
    /// stream to within about this much (see `followSpeeds`). Every millisecond for 2 s after
    /// the lane last carried a byte, since speed switches follow traffic (the protocol's BAUD
    /// exchange); every 20 ms on a line quiet for longer, so an idle simulator costs nothing.
    static func speedCheckNanoseconds(idleFor idle: UInt64) -> UInt64 {
        idle < 2_000_000_000 ? 1_000_000 : 20_000_000
    }

    /// How far ahead of the line a paced lane reads from its sender: 10 ms of line time, at least
    /// 64 bytes. Beyond that the sender's writes wait in its PTY, as in a UART's transmit buffer.
    static func readAhead(baud: Int) -> Int { max(64, baud / 1000) }

    private let direction: WireDirection
    private let source: PseudoTerminal
    private let destination: PseudoTerminal
    private let stages: [any WireStage]
    private let speeds: LineSpeeds?
    private let limit: Int
    private let logger: Logger
    private let shared = NIOLockedValueBox(Shared())
    /// Self-pipe that wakes the lane's `poll` for injections, listening changes and stop.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let thread = NIOLockedValueBox<SimThread?>(nil)

    init(
        direction: WireDirection, from source: PseudoTerminal, to destination: PseudoTerminal,
        stages: [any WireStage], speeds: LineSpeeds?, limit: Int, logger: Logger
    ) throws(SimulatorError) {
        self.direction = direction
        self.source = source
        self.destination = destination
        self.stages = stages
        self.speeds = speeds
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
        // The speeds as the line starts, read before `start` returns, so that whatever a program
        // does once the wire is up (switch speed, then write) is seen against them.
        var line = Line()
        followSpeeds(&line, now: POSIX.monotonicNanoseconds())
        let initial = line
        let started = try SimThread(name: "wire \(direction)") { [self] in run(initial) }
        thread.withLockedValue { $0 = started }
    }

    func stop() {
        shared.withLockedValue { $0.stopping = true }
        wake()
        thread.withLockedValue { $0 }?.join()
    }

    func inject(_ bytes: [UInt8]) {
        shared.withLockedValue {
            $0.inbox.append(bytes)
            $0.statistics.injected += UInt64(bytes.count)
        }
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

    /// The lane's own state, touched only by its thread.
    private struct Line {
        /// Bytes past the stages that the receiver has not taken yet.
        var pending = PendingBytes()
        /// On a paced line: bytes read or injected that have not finished crossing the line.
        var transmit = PendingBytes()
        /// The line's schedule; `nil` on an ideal (unpaced) wire.
        var pacer: UARTPacer?
        /// The speed the sender set last: that of the newest bytes in `transmit`.
        var senderBaud: Int?
        /// Speed changes the line has not reached yet: after the first `after` bytes of
        /// `transmit`, it goes at `baud`.
        var speedChanges: [(after: Int, baud: Int)] = []
        /// The ends' speeds last seen, to log changes once.
        var speeds: LineSpeeds.Snapshot?
        var overrunEpisode: UInt64 = 0
        /// When the lane last read or injected a byte.
        var lastActivity: UInt64 = 0
        /// When a source that failed is to be tried again; `nil` while it works.
        var sourceRetryAt: UInt64?
        var sourceErrorLogged = false
    }

    private func run(_ initial: Line) {
        let chunkSize = 64 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 1)
        defer { buffer.deallocate() }
        var line = initial

        while true {
            var now = POSIX.monotonicNanoseconds()
            if let retryAt = line.sourceRetryAt, now >= retryAt { line.sourceRetryAt = nil }

            // What to wait for: the sender (unless a paced line has read far enough ahead), the
            // receiver's room (while bytes are pending), the next byte's completion.
            let readLimit = line.pacer.map { max(0, Self.readAhead(baud: $0.baud) - line.transmit.count) } ?? chunkSize
            let readSource = line.sourceRetryAt == nil && readLimit > 0
            var fds = [
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                pollfd(fd: readSource ? source.controller : -1, events: Int16(POLLIN), revents: 0),
                pollfd(
                    fd: destination.controller, events: line.pending.isEmpty ? 0 : Int16(POLLOUT), revents: 0),
            ]
            var deadline = line.sourceRetryAt
            if let pacer = line.pacer, !line.transmit.isEmpty {
                let due = max(pacer.nextCompletion(), now + Self.pacingQuantumNanoseconds)
                deadline = min(deadline ?? due, due)
            }
            if line.speeds != nil {
                // Look at the speeds now and then even when idle, so that a switch made well
                // before the next write is not mistaken for one made just after it.
                let look = now + Self.speedCheckNanoseconds(idleFor: now &- line.lastActivity)
                deadline = min(deadline ?? look, look)
            }
            var timeout: Int32 = -1
            if let deadline {
                let wait = deadline > now ? deadline - now : 0
                if wait >= 2_000_000 {
                    // poll counts whole milliseconds; wake a little early and sleep the rest.
                    timeout = Int32(min(wait / 1_000_000 - 1, 60_000))
                } else {
                    // No ppoll in Swift's Glibc: sleep the sub-millisecond rest, then look.
                    if wait > 0 { POSIX.sleep(nanoseconds: wait) }
                    timeout = 0
                }
            }
            if poll(&fds, nfds_t(fds.count), timeout) < 0 && errno != EINTR {
                logger.error("wire \(direction): poll failed: \(String(cString: strerror(errno)))")
                POSIX.sleep(nanoseconds: 10_000_000)
            }

            // 1. What arrived: injected bytes first (they were queued before we woke), then the
            //    sender's bytes. Neither step holds the lock, so stages may take their time.
            if fds[0].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &drain, drain.count) > 0 {}
            }
            // The speeds before the sender's bytes: a change made before they were written must
            // apply to them (see `followSpeeds`).
            followSpeeds(&line, now: POSIX.monotonicNanoseconds())
            let (injected, stopping) = shared.withLockedValue { state in
                defer { state.inbox.removeAll() }
                return (state.inbox, state.stopping)
            }
            if stopping { return }
            var incoming: [[UInt8]] = injected
            var direct = 0  // bytes in `buffer` not yet copied out (fast path)
            if fds[1].revents != 0 {
                let count = read(source.controller, buffer.baseAddress, min(chunkSize, readLimit))
                if count > 0 {
                    line.sourceErrorLogged = false
                    if stages.isEmpty && line.pacer == nil && incoming.isEmpty && line.pending.isEmpty {
                        direct = count
                    } else {
                        incoming.append(Array(buffer[0..<count]))
                    }
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    // A broken source (should not happen: we hold its replica) is retried now and
                    // then instead of spinning on POLLHUP.
                    if !line.sourceErrorLogged {
                        let reason = count == 0 ? "end of file" : String(cString: strerror(errno))
                        logger.error("wire \(direction): read failed: \(reason); retrying every 100 ms")
                        line.sourceErrorLogged = true
                    }
                    line.sourceRetryAt = POSIX.monotonicNanoseconds() + 100_000_000
                }
            }
            if !incoming.isEmpty || direct > 0 { line.lastActivity = POSIX.monotonicNanoseconds() }
            var dropped = 0
            if line.pacer != nil {
                for chunk in incoming { _ = line.transmit.append(chunk, limit: Int.max) }
                now = POSIX.monotonicNanoseconds()
                dropped += releaseDue(&line, now: now)
            } else {
                for chunk in incoming { dropped += pass(chunk, into: &line.pending) }
            }

            // 2. Delivery, under the lock so `setListening(false)` is a hard barrier.
            let drained: Bool = shared.withLockedValue { state in
                guard state.listening else {
                    state.statistics.discarded += UInt64(line.pending.count + direct)
                    line.pending.removeAll()
                    return true
                }
                if direct > 0 {
                    let written = max(write(destination.controller, buffer.baseAddress, direct), 0)
                    state.statistics.delivered += UInt64(written)
                    if written < direct {
                        dropped += line.pending.append(Array(buffer[written..<direct]), limit: limit)
                    }
                }
                if !line.pending.isEmpty {
                    let written = line.pending.withUnsafeBytes {
                        write(destination.controller, $0.baseAddress, $0.count)
                    }
                    if written > 0 {
                        line.pending.consume(written)
                        state.statistics.delivered += UInt64(written)
                    }
                }
                state.statistics.overrun += UInt64(dropped)
                return line.pending.isEmpty
            }

            // Say it once per episode: when bytes are first lost, and how many once the receiver
            // has caught up again.
            if dropped > 0 {
                if line.overrunEpisode == 0 {
                    logger.warning(
                        "wire \(direction): receiver is not reading and its buffers are full; dropping bytes (UART overrun)"
                    )
                }
                line.overrunEpisode += UInt64(dropped)
            }
            if drained && line.overrunEpisode > 0 {
                logger.warning("wire \(direction): overrun over; \(line.overrunEpisode) bytes were lost in all")
                line.overrunEpisode = 0
            }
        }
    }

    /// Runs `chunk` through the stages into `pending`; returns the bytes that did not fit.
    private func pass(_ chunk: [UInt8], into pending: inout PendingBytes) -> Int {
        var chunk = chunk
        for stage in stages { stage.process(&chunk, direction: direction) }
        return pending.append(chunk, limit: limit)
    }

    /// Hands the stages every byte that has crossed the line by `now`, switching speed at the
    /// byte where the sender switched; returns the bytes that did not fit the receiver's buffer.
    private func releaseDue(_ line: inout Line, now: UInt64) -> Int {
        var dropped = 0
        while line.pacer != nil {
            let limit = line.speedChanges.first?.after ?? line.transmit.count
            if limit == 0, let change = line.speedChanges.first {
                line.speedChanges.removeFirst()
                line.pacer!.setBaud(change.baud, now: now)
                continue
            }
            let count = line.pacer!.release(waiting: limit, now: now)
            guard count > 0 else { break }
            // The garbler compares the speed these bytes were sent at with the receiver's.
            speeds?.noteSending(line.pacer!.baud, direction)
            dropped += pass(line.transmit.removeFirst(count), into: &line.pending)
            for index in line.speedChanges.indices { line.speedChanges[index].after -= count }
            if count < limit || line.speedChanges.isEmpty { break }
        }
        return dropped
    }

    /// Starts, retunes or stops pacing to match the sender's speed, and logs what changed.
    ///
    /// A speed change has to be placed in the byte stream, and a pseudo-terminal does not say
    /// where: `tcsetattr` and `write` are not ordered for the other side, and `TCSADRAIN` does
    /// not wait for the other side to read. The lane reads the speeds afresh every time it wakes,
    /// before it reads the sender, so:
    /// - bytes it had read before it saw the change cross at the old speed (a sender that wrote,
    ///   then switched with `TCSADRAIN`, as a UART would have sent them);
    /// - bytes written after it saw the change cross at the new speed;
    /// - bytes waiting in the sender's PTY when it sees the change (written within the lane's
    ///   reaction time of the change: it looks every `speedCheckNanoseconds` even when idle, and
    ///   at once when bytes arrive) are ambiguous. They go at the old speed if the receiver is
    ///   still at it, else at the new one: the reading under which a correctly sequenced switch
    ///   works. That covers both halves of the protocol's BAUD
    ///   switch (§8.8): the ESP acknowledges then switches (the host, still at the old speed,
    ///   must read the acknowledgement), the host switches then sends PING (the ESP has switched
    ///   already). A sender that gets the order wrong by less than the lane's reaction time gets
    ///   the benefit of the doubt; by more, it gets garbage, as on a real line.
    private func followSpeeds(_ line: inout Line, now: UInt64) {
        let snapshot = speeds?.current(maximumAge: 0)
        if snapshot != line.speeds {
            logSpeeds(snapshot)
            line.speeds = snapshot
        }
        let baud = snapshot?.ends(direction).sender
        switch (line.pacer, baud) {
        case (nil, let baud?):
            line.pacer = UARTPacer(baud: baud)
            line.senderBaud = baud
        case (_?, let baud?) where baud != line.senderBaud:
            var waiting = PendingBytes()
            readEverythingWaiting(into: &waiting)
            let receiver = snapshot?.ends(direction).receiver
            let waitingAtOldSpeed = receiver != nil && receiver == line.senderBaud && receiver != baud
            if waitingAtOldSpeed, !waiting.isEmpty {
                _ = line.transmit.append(waiting.removeFirst(waiting.count), limit: Int.max)
            }
            line.speedChanges.append((after: line.transmit.count, baud: baud))
            if !waiting.isEmpty {
                _ = line.transmit.append(waiting.removeFirst(waiting.count), limit: Int.max)
            }
            line.senderBaud = baud
        case (_?, nil):
            // Pacing turned off (or the sender's speed is unknown): what waited goes at once.
            line.pacer = nil
            line.senderBaud = nil
            line.speedChanges.removeAll()
            speeds?.noteSending(nil, direction)
            if !line.transmit.isEmpty {
                let overflow = pass(line.transmit.removeFirst(line.transmit.count), into: &line.pending)
                shared.withLockedValue { $0.statistics.overrun += UInt64(overflow) }
            }
        default:
            break
        }
    }

    /// Moves whatever the sender has written and the lane not yet read into `transmit`
    /// (bounded, so a sender writing without pause cannot keep the lane here).
    private func readEverythingWaiting(into transmit: inout PendingBytes) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while total < 256 * 1024 {
            let count = buffer.withUnsafeMutableBytes { read(source.controller, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            _ = transmit.append(Array(buffer[0..<count]), limit: Int.max)
            total += count
        }
    }

    private func logSpeeds(_ snapshot: LineSpeeds.Snapshot?) {
        guard let snapshot else {
            logger.info("wire \(direction): not paced (an ideal wire)")
            return
        }
        let (sender, receiver) = snapshot.ends(direction)
        let name = { (baud: Int?) in baud.map { "\($0) baud" } ?? "an unknown speed" }
        if SpeedMismatchGarbler.garbles(sender: sender, receiver: receiver) {
            logger.warning(
                "wire \(direction): sender at \(name(sender)), receiver at \(name(receiver)): bytes arrive garbled")
        } else {
            logger.info("wire \(direction): paced at \(name(sender)), both ends agree")
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

    /// Removes and returns the first `count` bytes.
    mutating func removeFirst(_ count: Int) -> [UInt8] {
        let bytes = Array(storage[start..<(start + count)])
        consume(count)
        return bytes
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

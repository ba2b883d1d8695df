import DequeModule
import NIOCore

/// One side of a link session (firmware-protocol.md §8): sequence numbers, cumulative
/// acknowledgements with credit, go-back-N retransmission with REJ, and heartbeats.
///
/// A pure state machine: it never does I/O and never reads a clock. The caller passes `now` into
/// every call, writes the frames it returns, delivers the frames it hands back, and calls
/// ``expire(now:)`` at ``nextDeadline``. That keeps every timing rule testable with a manual clock.
public struct LinkSession: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// The credit this side grants: frames it accepts beyond `ack` (1–127).
        public var receiveWindow: UInt8
        /// How long a delivered frame may wait for its acknowledgement (§8.3), in the hope that a
        /// frame of our own carries it.
        public var acknowledgementDelay: TimeAmount = .milliseconds(10)
        /// Delivered frames that are acknowledged at once, without waiting for the delay: by
        /// default half the credit granted, so the sender never stalls. A peer with a small send
        /// queue needs fewer (TCP acknowledges every second segment for the same reason).
        public var acknowledgeAfter: Int
        /// The longest silence this side allows itself while the session is up (§8.5).
        public var heartbeatInterval: TimeAmount = .seconds(1)
        /// After this many transmissions of one frame without the peer acknowledging anything new
        /// meanwhile, the peer counts as unresponsive (§8.5).
        public var maximumTransmissions = 8

        public init(receiveWindow: UInt8) {
            precondition((1...127).contains(receiveWindow), "a window is 1 to 127 frames (§8.3)")
            self.receiveWindow = receiveWindow
            self.acknowledgeAfter = (Int(receiveWindow) + 1) / 2
        }
    }

    /// What a call asks the caller to do.
    public struct Output: Sendable {
        /// Frames to write to the line now, in order.
        public var frames: [LinkFrame] = []
        /// Frames for the layer above, in order: sequenced frames exactly once, unsequenced ones
        /// (HELLO, PING, …) as they came. ACK frames are consumed here.
        public var delivered: [LinkFrame] = []
        /// A frame went unacknowledged for ``Configuration/maximumTransmissions`` sendings.
        public var peerUnresponsive = false
    }

    /// Counters for status and benchmarks.
    public struct Counters: Sendable, Hashable {
        public var sequencedSent = 0
        public var retransmitted = 0
        public var duplicatesReceived = 0
        public var outOfOrderReceived = 0
        public var rejectsSent = 0
        public var acknowledgementsSent = 0

        public init() {}

        /// Totals over several sessions.
        public static func + (lhs: Counters, rhs: Counters) -> Counters {
            var sum = lhs
            sum.sequencedSent += rhs.sequencedSent
            sum.retransmitted += rhs.retransmitted
            sum.duplicatesReceived += rhs.duplicatesReceived
            sum.outOfOrderReceived += rhs.outOfOrderReceived
            sum.rejectsSent += rhs.rejectsSent
            sum.acknowledgementsSent += rhs.acknowledgementsSent
            return sum
        }
    }

    private struct Outstanding: Sendable {
        var frame: LinkFrame
        var lastSent: NIODeadline
        var transmissions: Int
        /// Sendings since the peer last acknowledged new frames. Go-back-N re-sends every frame
        /// behind a lost one, so a frame far back in a window piles up `transmissions` while the
        /// peer keeps making progress; only sendings without progress say the peer is gone.
        var sendingsWithoutProgress: Int
    }

    public let configuration: Configuration
    public private(set) var counters = Counters()
    public private(set) var timeout = RetransmissionTimeout()
    /// When the last valid frame arrived (§8.5's link timeout is measured from it).
    public private(set) var lastHeard: NIODeadline

    // Send side.
    private var nextSequence: UInt8 = 0
    private var oldestUnacknowledged: UInt8 = 0
    private var outstanding: Deque<Outstanding> = []
    private var waiting: Deque<LinkFrame> = []
    private var peerAcknowledged: UInt8 = 0
    private var peerCredit: UInt8
    private var retransmissionDeadline: NIODeadline?
    private var lastReject: (ack: UInt8, at: NIODeadline)?
    private var lastSent: NIODeadline

    // Receive side.
    private var expectedSequence: UInt8 = 0
    private var deliveredSinceAcknowledgement = 0
    private var acknowledgementDue: NIODeadline?
    private var rejectSentFor: UInt8?

    /// Starts a session (§8.1): all sequence state at zero.
    /// - Parameter peerWindow: the `window` of the peer's HELLO, the credit until its first ACK.
    public init(configuration: Configuration, peerWindow: UInt8, now: NIODeadline) {
        self.configuration = configuration
        self.peerCredit = min(peerWindow, 127)
        self.lastHeard = now
        self.lastSent = now
    }

    /// Sequenced frames ever passed to ``send(_:now:)`` in this session. With
    /// ``acknowledgedCount`` it tells when the peer has a given frame: the one sent as the n-th
    /// is acknowledged once ``acknowledgedCount`` reaches n (BAUD waits for that, §8.8).
    public private(set) var acceptedCount = 0
    /// Sequenced frames the peer has acknowledged in this session.
    public private(set) var acknowledgedCount = 0

    /// Frames accepted but not yet acknowledged by the peer, or waiting for credit.
    public var unacknowledgedCount: Int { outstanding.count + waiting.count }
    /// Frames waiting for the peer's credit.
    public var waitingCount: Int { waiting.count }
    /// Whether the peer has room for another frame right now.
    public var hasCredit: Bool { waiting.isEmpty && canSendNext }

    // MARK: - Sending

    /// Queues a message frame for reliable, in-order delivery and returns what may go out now.
    /// - Parameter frame: a frame without `seq`/`ack`; the session fills them in.
    public mutating func send(_ frame: LinkFrame, now: NIODeadline) -> [LinkFrame] {
        waiting.append(frame)
        acceptedCount += 1
        return releaseWaiting(now: now)
    }

    /// Records that an unsequenced frame (HELLO, PING, ERROR, …) was written, for the heartbeat.
    public mutating func noteUnsequencedSent(now: NIODeadline) {
        lastSent = now
    }

    // MARK: - Receiving

    /// Takes one valid frame from the line.
    public mutating func receive(_ frame: LinkFrame, now: NIODeadline) -> Output {
        lastHeard = now
        var output = Output()
        if let acknowledgement = frame.ack {
            let reject = frame.type == .ack && frame.payload.getInteger(at: frame.payload.readerIndex) == UInt8(1)
            output.frames += processAcknowledgement(acknowledgement, reject: reject, now: now)
        }
        // An ACK frame is never sequenced (§8.2), whatever flags a faulty peer sets: it takes no sequence number
        // and is consumed here.
        if frame.type == .ack { return output }
        guard let sequence = frame.seq else {
            output.delivered.append(frame)
            return output
        }
        let distance = Int(sequence &- expectedSequence)
        if distance == 0 {
            expectedSequence &+= 1
            rejectSentFor = nil
            output.delivered.append(frame)
            deliveredSinceAcknowledgement += 1
            if acknowledgementDue == nil { acknowledgementDue = now + configuration.acknowledgementDelay }
            // A fragment with more to follow is acknowledged at once: its sender streams a message
            // and may hold room for only one frame until this one is acknowledged (§8.6).
            if deliveredSinceAcknowledgement >= configuration.acknowledgeAfter || frame.more {
                output.frames.append(makeAcknowledgement(reject: false, now: now))
            }
        } else if distance >= 128 {
            // Already delivered: our acknowledgement was lost. Say where we stand.
            counters.duplicatesReceived += 1
            output.frames.append(makeAcknowledgement(reject: false, now: now))
        } else {
            // A frame before this one was lost: ask for everything from it, once per gap.
            counters.outOfOrderReceived += 1
            if rejectSentFor != expectedSequence {
                rejectSentFor = expectedSequence
                counters.rejectsSent += 1
                output.frames.append(makeAcknowledgement(reject: true, now: now))
            }
        }
        return output
    }

    // MARK: - Timers

    /// The earliest moment ``expire(now:)`` has work to do.
    public var nextDeadline: NIODeadline {
        var deadline = lastSent + configuration.heartbeatInterval
        if let due = acknowledgementDue { deadline = min(deadline, due) }
        if let retransmission = retransmissionDeadline { deadline = min(deadline, retransmission) }
        return deadline
    }

    /// Runs the timers that are due: retransmission (§8.4), delayed acknowledgement (§8.3) and
    /// heartbeat (§8.5).
    public mutating func expire(now: NIODeadline) -> Output {
        var output = Output()
        if let deadline = retransmissionDeadline, now >= deadline, let oldest = outstanding.first {
            if oldest.sendingsWithoutProgress >= configuration.maximumTransmissions {
                // Sent often enough: the caller resets the peer, which starts a new session.
                output.peerUnresponsive = true
                retransmissionDeadline = nil
            } else {
                timeout.backOff()
                output.frames += retransmitAll(now: now)
            }
        }
        if let due = acknowledgementDue, now >= due {
            output.frames.append(makeAcknowledgement(reject: false, now: now))
        }
        if now >= lastSent + configuration.heartbeatInterval {
            output.frames.append(makeAcknowledgement(reject: false, now: now))
        }
        return output
    }

    // MARK: - Internals

    private var canSendNext: Bool {
        let inFlight = Int(nextSequence &- peerAcknowledged)
        return inFlight < Int(peerCredit) && outstanding.count < 127
    }

    private var currentAcknowledgement: LinkFrame.Acknowledgement {
        LinkFrame.Acknowledgement(ack: expectedSequence, credit: configuration.receiveWindow)
    }

    private mutating func releaseWaiting(now: NIODeadline) -> [LinkFrame] {
        var released: [LinkFrame] = []
        while canSendNext, var frame = waiting.popFirst() {
            frame.seq = nextSequence
            nextSequence &+= 1
            frame.ack = currentAcknowledgement
            outstanding.append(Outstanding(frame: frame, lastSent: now, transmissions: 1, sendingsWithoutProgress: 1))
            counters.sequencedSent += 1
            released.append(frame)
        }
        if !released.isEmpty {
            markAcknowledgementSent(now: now)
            if retransmissionDeadline == nil { retransmissionDeadline = now + timeout.value }
        }
        return released
    }

    private mutating func processAcknowledgement(
        _ acknowledgement: LinkFrame.Acknowledgement,
        reject: Bool,
        now: NIODeadline
    ) -> [LinkFrame] {
        let advance = Int(acknowledgement.ack &- oldestUnacknowledged)
        // An ack for frames never sent belongs to another session: ignore it whole.
        guard advance <= outstanding.count else { return [] }
        if advance > 0 {
            let newest = outstanding[advance - 1]
            if newest.transmissions == 1 {
                timeout.record(roundTrip: now - newest.lastSent)
            }
            outstanding.removeFirst(advance)
            acknowledgedCount += advance
            // The copy of each remaining frame already on the line counts as one sending.
            for index in outstanding.indices { outstanding[index].sendingsWithoutProgress = 1 }
            oldestUnacknowledged = acknowledgement.ack
            retransmissionDeadline = outstanding.isEmpty ? nil : now + timeout.value
            lastReject = nil
        }
        peerAcknowledged = acknowledgement.ack
        peerCredit = min(acknowledgement.credit, 127)
        var frames: [LinkFrame] = []
        if reject, !outstanding.isEmpty, shouldHonourReject(acknowledgement.ack, now: now) {
            lastReject = (acknowledgement.ack, now)
            frames += retransmitAll(now: now)
        }
        frames += releaseWaiting(now: now)
        return frames
    }

    /// A REJ is honoured at most once per round-trip time for the same `ack` (§8.4): the frames
    /// already re-sent are still on their way.
    private func shouldHonourReject(_ ack: UInt8, now: NIODeadline) -> Bool {
        guard let last = lastReject, last.ack == ack else { return true }
        return now - last.at >= (timeout.smoothedRoundTrip ?? timeout.value)
    }

    private mutating func retransmitAll(now: NIODeadline) -> [LinkFrame] {
        var frames: [LinkFrame] = []
        for index in outstanding.indices {
            outstanding[index].frame.ack = currentAcknowledgement
            outstanding[index].lastSent = now
            outstanding[index].transmissions += 1
            outstanding[index].sendingsWithoutProgress += 1
            frames.append(outstanding[index].frame)
        }
        counters.retransmitted += frames.count
        if !frames.isEmpty {
            retransmissionDeadline = now + timeout.value
            markAcknowledgementSent(now: now)
        }
        return frames
    }

    private mutating func makeAcknowledgement(reject: Bool, now: NIODeadline) -> LinkFrame {
        counters.acknowledgementsSent += 1
        markAcknowledgementSent(now: now)
        var payload = ByteBuffer()
        if reject { payload.writeInteger(UInt8(1)) }
        return LinkFrame(type: .ack, ack: currentAcknowledgement, payload: payload)
    }

    private mutating func markAcknowledgementSent(now: NIODeadline) {
        deliveredSinceAcknowledgement = 0
        acknowledgementDue = nil
        lastSent = now
    }
}

import NIOCore
import Testing

@testable import BridgeLink

/// Two sessions joined by an in-memory line with a manual clock: what one writes the other
/// receives, unless the test drops it.
private struct Pair {
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var host: LinkSession
    var esp: LinkSession
    var deliveredToESP: [String] = []
    var deliveredToHost: [String] = []
    var unresponsive = false

    init(hostWindow: UInt8 = 8, espWindow: UInt8 = 4) {
        host = LinkSession(configuration: .init(receiveWindow: hostWindow), peerWindow: espWindow, now: now)
        esp = LinkSession(configuration: .init(receiveWindow: espWindow), peerWindow: hostWindow, now: now)
    }

    static func message(_ text: String) -> LinkFrame {
        LinkFrame(type: .publish, payload: ByteBuffer(string: text))
    }

    /// Carries frames from one side to the other until the line is quiet; `drop` decides losses.
    mutating func deliver(
        _ frames: [LinkFrame],
        fromHost: Bool,
        drop: (LinkFrame) -> Bool = { _ in false }
    ) {
        var queue = frames.map { (frame: $0, fromHost: fromHost) }
        while !queue.isEmpty {
            let (frame, sentByHost) = queue.removeFirst()
            if drop(frame) { continue }
            let output: LinkSession.Output
            if sentByHost {
                output = esp.receive(frame, now: now)
                deliveredToESP += output.delivered.map { String(buffer: $0.payload) }
            } else {
                output = host.receive(frame, now: now)
                deliveredToHost += output.delivered.map { String(buffer: $0.payload) }
            }
            unresponsive = unresponsive || output.peerUnresponsive
            queue += output.frames.map { ($0, !sentByHost) }
        }
    }

    /// Advances the clock to the next timer of either side and runs it.
    mutating func runTimers(drop: (LinkFrame) -> Bool = { _ in false }) {
        now = min(host.nextDeadline, esp.nextDeadline)
        let fromHost = host.expire(now: now)
        unresponsive = unresponsive || fromHost.peerUnresponsive
        deliver(fromHost.frames, fromHost: true, drop: drop)
        let fromESP = esp.expire(now: now)
        deliver(fromESP.frames, fromHost: false, drop: drop)
    }

    mutating func hostSends(_ text: String, drop: (LinkFrame) -> Bool = { _ in false }) {
        deliver(host.send(Self.message(text), now: now), fromHost: true, drop: drop)
    }
}

@Suite("LinkSession (§8)") struct LinkSessionTests {
    @Test func framesArriveInOrderWithSequenceNumbersAndAcknowledgements() {
        var pair = Pair()
        let frames = pair.host.send(Pair.message("a"), now: pair.now)
        #expect(frames.count == 1)
        #expect(frames[0].seq == 0)
        #expect(frames[0].ack == LinkFrame.Acknowledgement(ack: 0, credit: 8))
        pair.deliver(frames, fromHost: true)
        for text in ["b", "c"] { pair.hostSends(text) }
        #expect(pair.deliveredToESP == ["a", "b", "c"])
        pair.runTimers()  // the ESP's delayed acknowledgement
        #expect(pair.host.unacknowledgedCount == 0)
    }

    @Test func theSenderNeverExceedsThePeersCredit() {
        var pair = Pair(espWindow: 3)
        var released: [LinkFrame] = []
        for index in 0..<10 {
            released += pair.host.send(Pair.message("\(index)"), now: pair.now)
        }
        #expect(released.map(\.seq) == [0, 1, 2])
        #expect(pair.host.waitingCount == 7)
        // Delivering them makes the ESP acknowledge and grant credit again, until all are through.
        pair.deliver(released, fromHost: true)
        while pair.host.unacknowledgedCount > 0 { pair.runTimers() }
        #expect(pair.deliveredToESP == (0..<10).map(String.init))
    }

    @Test func aLostFrameIsRejectedAndResentAndDeliveredOnce() {
        var pair = Pair()
        pair.hostSends("a")
        pair.hostSends("b") { $0.seq == 1 }  // lost on the line
        pair.hostSends("c")  // arrives out of order: the ESP sends REJ, the host goes back
        #expect(pair.deliveredToESP == ["a", "b", "c"])
        #expect(pair.esp.counters.rejectsSent == 1)
        #expect(pair.host.counters.retransmitted >= 2)
    }

    @Test func aLostAcknowledgementEndsInATimeoutAndADuplicateThatIsNotDeliveredTwice() {
        var pair = Pair()
        var dropAcks = true
        pair.hostSends("a")
        while pair.host.counters.retransmitted == 0 {
            pair.runTimers { frame in dropAcks && frame.type == .ack }
        }
        dropAcks = false
        pair.runTimers()
        while pair.host.unacknowledgedCount > 0 { pair.runTimers() }
        #expect(pair.deliveredToESP == ["a"])
        #expect(pair.esp.counters.duplicatesReceived >= 1)
    }

    @Test func aSilentPeerIsReportedAfterEightTransmissionsWithBackOff() {
        var pair = Pair()
        pair.hostSends("a") { _ in true }
        var timeouts: [TimeAmount] = []
        while !pair.unresponsive {
            timeouts.append(pair.host.timeout.value)
            pair.runTimers { _ in true }
        }
        #expect(pair.host.counters.retransmitted == 7)
        #expect(timeouts.first == RetransmissionTimeout.initial)
        #expect(pair.host.timeout.value == RetransmissionTimeout.maximum)
    }

    @Test func aPeerThatKeepsAcknowledgingIsNotDeclaredUnresponsive() {
        var pair = Pair(hostWindow: 8, espWindow: 8)
        // Frame k is lost on its (k + 1)-th sending: each go-back-N round delivers one frame and
        // loses the next, so the last frame is sent 8 times while the ESP acknowledges every round.
        var sendings: [UInt8: Int] = [:]
        let oneLossPerRound: (LinkFrame) -> Bool = { frame in
            guard let seq = frame.seq else { return false }
            sendings[seq, default: 0] += 1
            return sendings[seq] == Int(seq) + 1
        }
        var frames: [LinkFrame] = []
        for index in 0..<8 { frames += pair.host.send(Pair.message("\(index)"), now: pair.now) }
        pair.deliver(frames, fromHost: true, drop: oneLossPerRound)
        #expect(sendings[7] == 8)
        while pair.host.unacknowledgedCount > 0, !pair.unresponsive { pair.runTimers() }
        #expect(!pair.unresponsive, "the ESP acknowledged progress every round: it is alive")
        #expect(pair.deliveredToESP == (0..<8).map(String.init))
    }

    @Test func anIdleSideSendsAHeartbeatEverySecond() {
        var pair = Pair()
        let start = pair.now
        let output = pair.host.expire(now: start + .milliseconds(999))
        #expect(output.frames.isEmpty)
        #expect(pair.host.nextDeadline == start + .seconds(1))
        let heartbeat = pair.host.expire(now: start + .seconds(1)).frames
        #expect(heartbeat.map(\.type) == [.ack])
        #expect(pair.host.nextDeadline == start + .seconds(2))
    }

    @Test func aDeliveredFrameIsAcknowledgedWithinTheDelay() {
        var pair = Pair(espWindow: 8)
        let frames = pair.host.send(Pair.message("a"), now: pair.now)
        let received = pair.esp.receive(frames[0], now: pair.now)
        #expect(received.frames.isEmpty, "one frame of eight credits does not force an ack")
        #expect(pair.esp.nextDeadline == pair.now + .milliseconds(10))
        let acknowledgement = pair.esp.expire(now: pair.now + .milliseconds(10)).frames
        #expect(acknowledgement.first?.ack == LinkFrame.Acknowledgement(ack: 1, credit: 8))
    }

    @Test func aLongerDelayIsCutShortByTheSecondFrameOrCarriedByAFrameOfOurOwn() {
        var configuration = LinkSession.Configuration(receiveWindow: 32)
        configuration.acknowledgementDelay = .milliseconds(45)
        configuration.acknowledgeAfter = 2
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var receiver = LinkSession(configuration: configuration, peerWindow: 4, now: start)
        var sender = LinkSession(configuration: .init(receiveWindow: 4), peerWindow: 32, now: start)
        let frames = sender.send(Pair.message("a"), now: start) + sender.send(Pair.message("b"), now: start)

        let first = receiver.receive(frames[0], now: start)
        #expect(first.frames.isEmpty, "the first frame waits for the delay")
        #expect(receiver.nextDeadline == start + .milliseconds(45))
        let second = receiver.receive(frames[1], now: start + .milliseconds(1))
        #expect(second.frames.map(\.type) == [.ack], "the second one is acknowledged at once")
        #expect(second.frames.first?.ack?.ack == 2)

        let third = sender.send(Pair.message("c"), now: start)
        _ = receiver.receive(third[0], now: start + .milliseconds(2))
        let ours = receiver.send(Pair.message("reply"), now: start + .milliseconds(3))
        #expect(ours.first?.ack?.ack == 3, "a frame of our own carries the acknowledgement")
        #expect(receiver.expire(now: start + .milliseconds(50)).frames.isEmpty, "and no ACK frame follows")
    }

    @Test func aFragmentWithMoreToFollowIsAcknowledgedAtOnce() {
        var configuration = LinkSession.Configuration(receiveWindow: 32)
        configuration.acknowledgementDelay = .milliseconds(45)
        configuration.acknowledgeAfter = 2
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var receiver = LinkSession(configuration: configuration, peerWindow: 4, now: start)
        var sender = LinkSession(configuration: .init(receiveWindow: 4), peerWindow: 32, now: start)
        let fragment = LinkFrame(type: .message, more: true, payload: ByteBuffer(string: "part"))
        let first = receiver.receive(sender.send(fragment, now: start)[0], now: start)
        #expect(first.frames.map(\.type) == [.ack], "the sender may have room for this one frame only")
        #expect(first.frames.first?.ack?.ack == 1)
        let last = LinkFrame(type: .message, payload: ByteBuffer(string: "end"))
        #expect(receiver.receive(sender.send(last, now: start)[0], now: start).frames.isEmpty, "the last one waits")
    }

    @Test func roundTripSamplesSetTheTimeout() {
        var pair = Pair()
        let frames = pair.host.send(Pair.message("a"), now: pair.now)
        pair.now = pair.now + .milliseconds(40)
        _ = pair.host.receive(LinkFrame(type: .ack, ack: .init(ack: 1, credit: 4)), now: pair.now)
        #expect(frames.count == 1)
        #expect(pair.host.timeout.smoothedRoundTrip == .milliseconds(40))
        // SRTT + 4 × RTTVAR = 40 + 4 × 20 ms.
        #expect(pair.host.timeout.value == .milliseconds(120))
    }

    @Test func anAcknowledgementFromAnotherSessionIsIgnored() {
        var pair = Pair()
        _ = pair.host.send(Pair.message("a"), now: pair.now)
        _ = pair.host.receive(LinkFrame(type: .ack, ack: .init(ack: 200, credit: 4)), now: pair.now)
        #expect(pair.host.unacknowledgedCount == 1)
    }

    /// Found by FuzzLink (Fuzz/corpus/FuzzLink/regression-ack-with-seq): the body `07 05 00`, an ACK frame with
    /// `SEQ` and `MORE` set, was delivered as the sequenced frame 0, so the daemon took it for a message (ended a
    /// fragmented one, answered ERROR) and the real frame 0 that followed counted as a duplicate.
    @Test func anACKFrameIsConsumedEvenWhenAPeerSequencesIt() throws {
        var pair = Pair()
        _ = pair.host.send(Pair.message("a"), now: pair.now)
        var body = ByteBuffer(bytes: [0x07, 0x05, 0x00])
        body.writeInteger(CRC32.checksum(body), endianness: .big)
        let bogus = try LinkFrame(body: body)
        #expect(bogus == LinkFrame(type: .ack, seq: 0, more: true))
        #expect(pair.host.receive(bogus, now: pair.now).delivered.isEmpty)
        // ACK is never sequenced (§8.2), so that took no sequence number: the ESP's frame 0 is delivered.
        pair.deliver(pair.esp.send(Pair.message("e"), now: pair.now), fromHost: false)
        #expect(pair.deliveredToHost == ["e"])
        // The acknowledgement an ACK frame carries still counts, whatever else its header says.
        let acknowledging = LinkFrame(type: .ack, seq: 9, ack: .init(ack: 1, credit: 4))
        #expect(pair.host.receive(acknowledging, now: pair.now).delivered.isEmpty)
        #expect(pair.host.acknowledgedCount == 1)
    }

    @Test(arguments: [1, 2, 3, 4])
    func thousandsOfMessagesThroughALossyLineArriveOnceAndInOrder(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var pair = Pair(hostWindow: 8, espWindow: 4)
        let lossy: (LinkFrame) -> Bool = { _ in Double(generator.next() % 1000) < 150 }  // 15 % lost
        let count = 2_000
        var sent = 0
        while pair.deliveredToESP.count < count {
            if sent < count, pair.host.hasCredit {
                pair.hostSends("m\(sent)", drop: lossy)
                sent += 1
                // And some traffic the other way, to exercise piggybacked acknowledgements.
                if sent % 3 == 0 {
                    pair.deliver(pair.esp.send(Pair.message("e\(sent)"), now: pair.now), fromHost: false, drop: lossy)
                }
            } else {
                pair.runTimers(drop: lossy)
            }
            #expect(!pair.unresponsive)
            if pair.unresponsive { return }
        }
        #expect(pair.deliveredToESP == (0..<count).map { "m\($0)" })
        while pair.esp.unacknowledgedCount > 0 { pair.runTimers(drop: lossy) }
        #expect(pair.deliveredToHost == stride(from: 3, through: count, by: 3).map { "e\($0)" })
    }

    @Test func acceptedAndAcknowledgedCountsTellWhenTheNthFrameIsThrough() {
        var pair = Pair(espWindow: 2)
        for text in ["a", "b", "c"] { _ = pair.host.send(Pair.message(text), now: pair.now) }
        #expect(pair.host.acceptedCount == 3)
        #expect(pair.host.acknowledgedCount == 0)
        // The third frame waits for credit; once it is through, the count says so.
        while pair.host.unacknowledgedCount > 0 { pair.runTimers() }
        #expect(pair.host.acknowledgedCount == 3)
        #expect(pair.esp.acceptedCount == 0)
    }
}

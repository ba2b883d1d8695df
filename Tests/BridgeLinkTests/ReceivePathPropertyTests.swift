import BridgeLink
import NIOCore
import Testing

/// The whole receive path of the host under garbage: real messages from the ESP go through a
/// sending `LinkSession` and the `LinkFrameEncoder` onto a line that adds garbage between and
/// inside frames (noise of every length, zeros, cut-off frames, flipped bits); the host reads it in
/// chunks of every size through `LinkFrameDecoder`, its own `LinkSession` and `LinkMessage`
/// decoding, and its acknowledgements (some lost) drive the sender's retransmissions.
///
/// The properties, for every seeded stream:
/// - the sequenced messages delivered are exactly those sent, in order, each once, all of them;
/// - every unsequenced message delivered (PING) is one that was sent, in the order sent;
/// - nothing that was not sent is ever delivered or even decoded as a frame.
///
/// Unlike `LinkFrameDecoderPropertyTests` (the decoder alone, unsequenced frames) and
/// `LinkSessionTests` (sessions joined frame by frame), this joins every stage the bytes cross.
@Suite("The host's receive path on a line with garbage")
struct ReceivePathPropertyTests {
    static let streamsPerBatch = 50

    @Test("only sent messages come out, exactly and in order", arguments: 0..<4)
    func garbageAroundAndInsideFrames(batch: UInt64) throws {
        var totals = ReceivePathRun.Counts()
        for index in 0..<UInt64(Self.streamsPerBatch) {
            let seed = batch << 32 | index
            var run = ReceivePathRun(seed: seed)
            try run.run()
            #expect(run.falseFrames.isEmpty, "seed \(seed): frames not sent came out: \(run.falseFrames)")
            #expect(run.deliveredSequenced == run.sentSequenced, "seed \(seed)")
            #expect(isSubsequence(run.deliveredUnsequenced, of: run.sentUnsequenced), "seed \(seed)")
            #expect(!run.senderGaveUp, "seed \(seed): a frame went unacknowledged too often")
            totals.add(run.counts)
        }
        // Guards the generator: the property means little unless garbage really spoiled frames,
        // reached into them, and forced retransmissions.
        #expect(totals.garbageInsideFrames > Self.streamsPerBatch)
        #expect(totals.discardedChunks > 10 * Self.streamsPerBatch)
        #expect(totals.oversizeChunks > 0)
        #expect(totals.retransmitted > Self.streamsPerBatch)
        #expect(totals.messagesDelivered > 20 * Self.streamsPerBatch)
    }
}

private func isSubsequence(_ part: [LinkMessage], of whole: [LinkMessage]) -> Bool {
    var remaining = whole[...]
    for message in part {
        guard let index = remaining.firstIndex(of: message) else { return false }
        remaining = remaining[(index + 1)...]
    }
    return true
}

/// One stream: an ESP sending a random list of messages to the host over a line with garbage.
private struct ReceivePathRun {
    struct Counts {
        var garbageInsideFrames = 0
        var discardedChunks = 0
        var oversizeChunks = 0
        var retransmitted = 0
        var messagesDelivered = 0

        mutating func add(_ other: Counts) {
            garbageInsideFrames += other.garbageInsideFrames
            discardedChunks += other.discardedChunks
            oversizeChunks += other.oversizeChunks
            retransmitted += other.retransmitted
            messagesDelivered += other.messagesDelivered
        }
    }

    static let maximumBodySize = LinkProtocol.minimumMaximumBodySize
    static let hostWindow: UInt8 = 32
    static let espWindow: UInt8 = 8

    var random: SplitMix64
    let clock = ManualClock()  // LinkFrameEncoderTests': read by the encoder too
    let encoder: LinkFrameEncoder
    let processor = NIOSingleStepByteToMessageProcessor(LinkFrameDecoder(maximumBodySize: maximumBodySize))
    var esp: LinkSession
    var host: LinkSession

    var sentSequenced: [LinkMessage] = []
    var sentUnsequenced: [LinkMessage] = []
    var deliveredSequenced: [LinkMessage] = []
    var deliveredUnsequenced: [LinkMessage] = []
    var falseFrames: [String] = []
    var senderGaveUp = false
    var counts = Counts()

    /// Every frame the ESP wrote, as a receiver would see it (flags and all): a frame the decoder
    /// yields must be one of them.
    private var writtenFrames: Set<LinkFrame> = []
    /// ESP bytes on the line that the host has not read yet.
    private var line: [UInt8] = []

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
        let clock = self.clock
        encoder = LinkFrameEncoder(now: { clock.now })
        esp = LinkSession(
            configuration: .init(receiveWindow: Self.espWindow), peerWindow: Self.hostWindow, now: clock.now)
        host = LinkSession(
            configuration: .init(receiveWindow: Self.hostWindow), peerWindow: Self.espWindow, now: clock.now)
    }

    mutating func run() throws {
        let messages = (0..<Int.random(in: 20...60, using: &random)).map { _ in randomMessage() }
        var next = 0
        // Bounded: the RTO backs off to 3 s and the sender gives up after 8 sendings, so a stream that
        // neither finishes nor gives up within this many steps is a bug too (caught by the expects).
        for _ in 0..<5_000 {
            if next == messages.count, deliveredSequenced.count == sentSequenced.count { break }
            if senderGaveUp { break }
            if next < messages.count, Int.random(in: 0..<3, using: &random) > 0 {
                try espSends(messages[next])
                next += 1
                // Sometimes a pause, so that the encoder's leading delimiter (after 20 ms) varies.
                clock.advance(by: .milliseconds(Int64.random(in: 0...30, using: &random)))
            } else {
                // Nothing more for now: let time run to the next timer of either side.
                clock.now = max(clock.now, min(esp.nextDeadline, host.nextDeadline))
                let espTimers = esp.expire(now: clock.now)
                senderGaveUp = senderGaveUp || espTimers.peerUnresponsive
                espWrites(espTimers.frames)
                try hostReads()
                espReceives(host.expire(now: clock.now).frames)
            }
            try hostReads()
        }
        counts.retransmitted = esp.counters.retransmitted
        counts.messagesDelivered = deliveredSequenced.count + deliveredUnsequenced.count
    }

    // MARK: - The ESP's side

    private mutating func espSends(_ message: LinkMessage) throws {
        let frame = try message.makeFrame()
        if frame.type.isSequenced {
            sentSequenced.append(message)
            espWrites(esp.send(frame, now: clock.now))
        } else {
            sentUnsequenced.append(message)
            esp.noteUnsequencedSent(now: clock.now)
            espWrites([frame])
        }
    }

    /// The host's acknowledgements reach the ESP directly, but some are lost.
    private mutating func espReceives(_ frames: [LinkFrame]) {
        for frame in frames where Int.random(in: 0..<10, using: &random) > 0 {
            espWrites(esp.receive(frame, now: clock.now).frames)
        }
    }

    /// Puts frames on the line with garbage between them and, now and then, inside one.
    private mutating func espWrites(_ frames: [LinkFrame]) {
        for frame in frames {
            writtenFrames.insert(frame)
            var out = ByteBuffer()
            encoder.encode(data: frame, out: &out)
            var bytes = out.bytes
            if Int.random(in: 0..<8, using: &random) == 0 {
                bytes.insert(contentsOf: garbage(), at: Int.random(in: 0...bytes.count, using: &random))
                counts.garbageInsideFrames += 1
            }
            if Int.random(in: 0..<6, using: &random) == 0 {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &random)
            }
            if Int.random(in: 0..<3, using: &random) == 0 {
                line += garbage()
            }
            line += bytes
        }
    }

    // MARK: - The host's side

    /// Reads the whole line in chunks of every size, as the serial channel would.
    private mutating func hostReads() throws {
        while !line.isEmpty {
            let size =
                Bool.random(using: &random)
                ? Int.random(in: 1...8, using: &random) : Int.random(in: 9...700, using: &random)
            let chunk = line.prefix(size)
            line.removeFirst(chunk.count)
            var outputs: [LinkFrameDecoder.Output] = []
            try processor.process(buffer: ByteBuffer(bytes: chunk)) { outputs.append($0) }
            for output in outputs {
                switch output {
                case .frame(let frame):
                    hostReceives(frame)
                case .discarded(let error):
                    counts.discardedChunks += 1
                    if case .oversize = error { counts.oversizeChunks += 1 }
                }
            }
        }
    }

    private mutating func hostReceives(_ frame: LinkFrame) {
        guard writtenFrames.contains(frame) else {
            falseFrames.append("\(frame)")
            return
        }
        let output = host.receive(frame, now: clock.now)
        for delivered in output.delivered {
            let message: LinkMessage
            do {
                message = try LinkMessage(frame: delivered, direction: .espToHost)
            } catch {
                falseFrames.append("\(delivered): \(error)")
                continue
            }
            if delivered.seq == nil {
                deliveredUnsequenced.append(message)
            } else {
                deliveredSequenced.append(message)
            }
        }
        espReceives(output.frames)
    }

    // MARK: - What travels

    /// Garbage as a line carries it: noise of any length from none to past the longest chunk,
    /// runs of zeros, and frames cut off before their end.
    private mutating func garbage() -> [UInt8] {
        switch Int.random(in: 0..<6, using: &random) {
        case 0:
            return []
        case 1:  // short noise, often with zeros
            return noise(1...16, lowest: 0)
        case 2:  // long noise: up to a few hundred bytes, zeros included
            return noise(17...400, lowest: 0)
        case 3:  // noise without zeros past the longest chunk: an oversize chunk
            return noise(520...900, lowest: 1)
        case 4:  // zeros
            return [UInt8](repeating: 0, count: Int.random(in: 1...4, using: &random))
        default:  // a frame cut off before its delimiter: never a whole one
            let frame = LinkFrame(
                type: .message, seq: UInt8.random(in: 0...255, using: &random), payload: randomBytes(0...300))
            let bytes = wire(frame).dropLast()
            return Array(bytes.prefix(Int.random(in: 1..<bytes.count, using: &random)))
        }
    }

    private mutating func noise(_ length: ClosedRange<Int>, lowest: UInt8) -> [UInt8] {
        (0..<Int.random(in: length, using: &random)).map { _ in UInt8.random(in: lowest...255, using: &random) }
    }

    private mutating func randomBytes(_ range: ClosedRange<Int>) -> ByteBuffer {
        let zeroChance = Int.random(in: 0...3, using: &random)
        let bytes = (0..<Int.random(in: range, using: &random)).map { _ in
            Int.random(in: 0..<10, using: &random) < zeroChance ? 0 : UInt8.random(in: 1...255, using: &random)
        }
        return ByteBuffer(bytes: bytes)
    }

    private mutating func randomText(_ range: ClosedRange<Int>) -> String {
        String((0..<Int.random(in: range, using: &random)).map { _ in "abcxyz/é0+".randomElement(using: &random)! })
    }

    /// A message the ESP sends, of every kind the host reads; most carry broker messages.
    private mutating func randomMessage() -> LinkMessage {
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<4:
            let payloadLength = Bool.random(using: &random) ? 0...40 : 41...400
            return .incoming(
                LinkIncoming(
                    qos: Bool.random(using: &random) ? .atLeastOnce : .atMostOnce, retain: Bool.random(using: &random),
                    topic: randomText(1...60), payload: randomBytes(payloadLength)))
        case 4, 5:
            return .pubAck(
                LinkPubAck(
                    messageID: UInt16.random(in: 1...UInt16.max, using: &random),
                    result: LinkPubAck.Result.allCases.randomElement(using: &random)!))
        case 6:
            return .subAck(LinkSubAck(granted: .qos1, filter: randomText(1...40)))
        case 7:
            return .log(LinkLog(level: .warning, text: randomText(0...120)))
        case 8:
            return .stats(
                LinkStats(
                    freeHeap: UInt32.random(in: 0...40_000, using: &random),
                    uptime: UInt32.random(in: 0...9_999, using: &random)))
        default:  // unsequenced: delivered as it arrives, never again
            return .ping(LinkPing(token: randomBytes(0...24)))
        }
    }
}

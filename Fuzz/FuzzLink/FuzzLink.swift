import BridgeLink
import FuzzSupport
import NIOCore

/// Fuzzes the host's receive path of the link as the daemon chains it (`Bridge.receivedFrame` and `deliver`):
/// line bytes → ``LinkFrameDecoder`` → ``LinkSession`` → ``MessageReassembler`` for MESSAGE frames, ``LinkMessage``
/// for the others.
///
/// An input is three control bytes, then the line:
/// - byte 0, bit 0: 0, the rest is the line itself, garbage and all; 1, the rest is a list of bodies without CRC
///   (`length:u16`, then type, flags, header fields and payload) that get their CRC, COBS and delimiter here, so that
///   inputs reach the message decoders without forging a CRC. Bits 1–7: the size of the reads the line arrives in,
///   1 to 128 bytes.
/// - byte 1: the decoder's `max_body`, 6 + 32 × the byte (6 to 8166 bytes; the daemon's is 8192).
/// - byte 2: how many frames the host's session has sent and awaits acknowledgements for, 0 to 31.
///
/// The invariants, any break of which traps:
/// - the decoder keeps at most `maximumEncodedSize` bytes between reads, and what it yields does not depend on how
///   the line is cut into reads;
/// - every frame fits `max_body`, and its own wire form decodes to exactly that frame;
/// - decoding a frame for a direction its type may travel gives what decoding it for any direction gives, and a
///   decoded message makes a frame that decodes to the same message;
/// - the session delivers sequenced frames in order of `seq`, each once, never an ACK frame; its peer never
///   acknowledges more than it sent; its timers always move on when they fire;
/// - the reassembler is inside a message exactly when the last MESSAGE frame had `MORE`, and joins no message
///   larger than its limit.
@main
enum FuzzLink: FuzzTarget {
    /// The reassembler's limit: small, so that inputs reach it.
    static let maximumMessageSize = 1024

    static func check(_ input: UnsafeRawBufferPointer) {
        var input = FuzzInput(input)
        let mode = input.control()
        let maximumBodySize = LinkProtocol.minimumBodySize + 32 * Int(input.control())
        let framesSent = Int(input.control() & 0x1F)
        let line = mode & 1 == 0 ? ByteBuffer(bytes: input.rest) : framedBodies(input.rest)
        let readSize = 1 + Int(mode >> 1)

        let outputs = decode(line, maximumBodySize: maximumBodySize, readSize: readSize)
        let outputsInOneRead = decode(line, maximumBodySize: maximumBodySize, readSize: max(1, line.readableBytes))
        invariant(
            outputs == outputsInOneRead, "reads of \(readSize) bytes gave \(outputs), one read \(outputsInOneRead)")

        var receiver = HostReceiver(framesSent: framesSent, maximumMessageSize: maximumMessageSize)
        for case .frame(let frame) in outputs {
            checkFrame(frame, maximumBodySize: maximumBodySize)
            checkMessage(frame)
            receiver.receive(frame)
        }
        receiver.runTimers()
    }

    /// Feeds `line` to a decoder in reads of `readSize` bytes, then ends the stream, and returns what came out.
    static func decode(_ line: ByteBuffer, maximumBodySize: Int, readSize: Int) -> [LinkFrameDecoder.Output] {
        var decoder = LinkFrameDecoder(maximumBodySize: maximumBodySize)
        var unread = line
        var buffer = ByteBuffer()
        var outputs: [LinkFrameDecoder.Output] = []
        while unread.readableBytes > 0 {
            var read = unread.readSlice(length: min(readSize, unread.readableBytes))!
            buffer.writeBuffer(&read)
            while let output = decoder.decode(buffer: &buffer) {
                outputs.append(output)
            }
            invariant(
                buffer.readableBytes <= decoder.maximumEncodedSize,
                "the decoder holds \(buffer.readableBytes) bytes, more than \(decoder.maximumEncodedSize)")
            // Now and then, as ByteToMessageHandler does: the unread bytes move to the front of the buffer.
            if buffer.readerIndex >= 1024 { buffer.discardReadBytes() }
        }
        while let output = decoder.decodeLast(buffer: &buffer, seenEOF: true) {
            outputs.append(output)
        }
        invariant(buffer.readableBytes == 0, "the decoder left \(buffer.readableBytes) bytes at the end of the stream")
        return outputs
    }

    /// Each `length:u16`-prefixed body with its CRC, COBS-encoded and delimited; the last one takes what is left.
    static func framedBodies(_ bytes: UnsafeRawBufferPointer) -> ByteBuffer {
        var rest = ByteBuffer(bytes: bytes)
        var line = ByteBuffer()
        while let length = rest.readInteger(as: UInt16.self) {
            var body = rest.readSlice(length: min(Int(length), rest.readableBytes))!
            body.writeInteger(CRC32.checksum(body), endianness: .big)
            COBS.encode(body, into: &line)
            line.writeInteger(UInt8(0))
        }
        return line
    }

    static func checkFrame(_ frame: LinkFrame, maximumBodySize: Int) {
        invariant(
            frame.bodySize <= maximumBodySize, "a \(frame.bodySize)-byte body passed a max_body of \(maximumBodySize)")
        var wire = ByteBuffer()
        frame.encode(into: &wire, leadingDelimiter: false)
        let again = decode(wire, maximumBodySize: maximumBodySize, readSize: wire.readableBytes)
        invariant(again == [.frame(frame)], "\(frame) encoded and decoded again gave \(again)")
    }

    static func checkMessage(_ frame: LinkFrame) {
        let decoded = decodeMessage(frame)
        for direction in [LinkDirection.hostToESP, .espToHost] {
            let travelling = decodeMessage(frame, travelling: direction)
            if frame.type.isAllowed(direction) {
                invariant(travelling == decoded, "\(frame.type) \(direction) gave \(travelling), not \(decoded)")
            } else if case .success = travelling {
                invariant(false, "\(frame.type) decoded travelling \(direction)")
            }
        }
        guard case .success(let message) = decoded else { return }
        do {
            let made = try message.makeFrame()
            invariant(made.type == frame.type && made.flags == [], "\(message) made the frame \(made)")
            let again = decodeMessage(made)
            invariant(again == decoded, "\(message) made a frame that decodes to \(again)")
        } catch {
            // Invalid UTF-8 is read as U+FFFD, three bytes for each bad one, so a string can outgrow its length
            // prefix; nothing else may make a decoded message impossible to send.
            let hasNonASCII = frame.payload.readableBytesView.contains { $0 >= 0x80 }
            invariant(hasNonASCII, "\(message), decoded from an ASCII payload, cannot be sent: \(error)")
        }
    }

    /// The message in `frame`, decoded as a frame travelling `direction` when one is given.
    static func decodeMessage(_ frame: LinkFrame, travelling direction: LinkDirection? = nil)
        -> Result<LinkMessage, LinkMessageError>
    {
        Result { () throws(LinkMessageError) in
            if let direction {
                return try LinkMessage(frame: frame, direction: direction)
            }
            return try LinkMessage(frame: frame)
        }
    }
}

/// The host's side of a link session: its ``LinkSession``, and the reassembler that MESSAGE frames go to.
struct HostReceiver {
    var session: LinkSession
    var reassembler: MessageReassembler
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    /// The `seq` the next sequenced frame delivered must carry.
    var expectedSequence: UInt8 = 0

    /// The daemon's receive window, and the ESP's (the `window` of its HELLO): credit runs out now and then.
    static let hostWindow: UInt8 = 32
    static let espWindow: UInt8 = 8

    init(framesSent: Int, maximumMessageSize: Int) {
        self.session = LinkSession(
            configuration: .init(receiveWindow: Self.hostWindow), peerWindow: Self.espWindow, now: now)
        self.reassembler = MessageReassembler(maximumMessageSize: maximumMessageSize)
        for index in 0..<framesSent {
            let frame = LinkFrame(type: .publish, payload: ByteBuffer(bytes: [UInt8(index)]))
            self.written(session.send(frame, now: now), acknowledging: [0])
        }
    }

    mutating func receive(_ frame: LinkFrame) {
        // A frame takes a few milliseconds on the line.
        now = now + .milliseconds(3)
        if now >= session.nextDeadline {
            expire()
        }
        let expectedBefore = expectedSequence
        let output = session.receive(frame, now: now)
        for delivered in output.delivered {
            deliver(delivered)
        }
        // Frames released by the acknowledgement this frame carried went out before the frame itself was taken.
        written(output.frames, acknowledging: [expectedBefore, expectedSequence])
    }

    /// Fires the session's timers as the daemon's timer does, until they stop or the peer is given up.
    mutating func runTimers() {
        for _ in 0..<16 {
            now = max(now, session.nextDeadline)
            if expire() { return }
        }
    }

    /// Runs the timers at `now`, which is their deadline or later; returns whether the peer was given up.
    @discardableResult
    private mutating func expire() -> Bool {
        let output = session.expire(now: now)
        written(output.frames, acknowledging: [expectedSequence])
        invariant(
            output.peerUnresponsive || session.nextDeadline > now,
            "the session's timers fired at \(now) and are due again at \(session.nextDeadline)")
        return output.peerUnresponsive
    }

    private mutating func deliver(_ frame: LinkFrame) {
        invariant(frame.type != .ack, "the session delivered an ACK frame: \(frame)")
        if let sequence = frame.seq {
            invariant(sequence == expectedSequence, "delivered seq \(sequence), expected \(expectedSequence)")
            expectedSequence &+= 1
        }
        guard frame.type == .message else {
            if frame.seq != nil {
                _ = reassembler.interrupt()
                invariant(!reassembler.isInsideMessage, "a message is still open after another frame")
            }
            return
        }
        let wasInside = reassembler.isInsideMessage
        let step = Result { () throws(LinkMessageError) in try reassembler.receive(frame) }
        invariant(
            reassembler.isInsideMessage == frame.more,
            "MORE is \(frame.more) but the reassembler is inside a message: \(reassembler.isInsideMessage)")
        if case .success(.complete(let message)) = step {
            invariant(message.totalLength == nil, "a joined message kept its total_length: \(message)")
            invariant(
                !wasInside || message.payload.readableBytes <= reassembler.maximumMessageSize,
                "joined a \(message.payload.readableBytes)-byte message, over \(reassembler.maximumMessageSize)")
        }
    }

    /// Frames the session asks to write: each acknowledges what was delivered, no less and no more.
    private func written(_ frames: [LinkFrame], acknowledging allowed: [UInt8]) {
        for frame in frames {
            invariant(
                frame.ack.map { allowed.contains($0.ack) } ?? false,
                "the session wrote \(frame), acknowledging one of \(allowed) expected")
        }
        invariant(
            session.acknowledgedCount <= session.acceptedCount,
            "\(session.acknowledgedCount) frames acknowledged of \(session.acceptedCount) sent")
    }
}

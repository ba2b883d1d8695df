import NIOCore

/// One frame of the link: a header, a payload, and (on the wire) a CRC, COBS and a delimiter (§2, §3).
///
/// ```
/// body   = header | payload | crc32
/// header = type:u8 | flags:u8 | [seq:u8] | [ack:u8 | credit:u8]
/// ```
///
/// The `flags` byte is not stored: it follows from ``seq``, ``ack`` and ``more``, so a frame can never
/// announce header bytes it does not carry. Every frame of this revision has none of them (§3, §8).
public struct LinkFrame: Hashable, Sendable {
    /// The header's `flags` byte (§3). Bits 3–7 are reserved and have no member.
    public struct Flags: OptionSet, Hashable, Sendable {
        /// The flags byte.
        public var rawValue: UInt8

        /// Flags from the header byte, reserved bits included.
        public init(rawValue: UInt8) {
            self.rawValue = rawValue
        }

        /// Bit 0 `SEQ`: a `seq` byte follows.
        public static let seq = Flags(rawValue: 1 << 0)
        /// Bit 1 `ACK`: `ack` and `credit` bytes follow.
        public static let ack = Flags(rawValue: 1 << 1)
        /// Bit 2 `MORE`: the message continues in the next frame.
        public static let more = Flags(rawValue: 1 << 2)

        /// The bits this module knows how to lay out; the others are reserved.
        static let known: Flags = [.seq, .ack, .more]

        /// The flags a receiver of version 2 accepts (§8); reserved bits make a frame unsupported.
        static let supported: Flags = [.seq, .ack, .more]
    }

    /// The acknowledgement fields of the header, reserved for reliable delivery (§8).
    public struct Acknowledgement: Hashable, Sendable {
        /// The next `seq` expected from the peer.
        public var ack: UInt8
        /// How many frames beyond `ack` the sender can still accept.
        public var credit: UInt8

        /// An acknowledgement of everything before `ack`, with room for `credit` more frames.
        public init(ack: UInt8, credit: UInt8) {
            self.ack = ack
            self.credit = credit
        }
    }

    /// The message type (§5).
    public var type: LinkMessageType
    /// The sequence number; when present the `SEQ` flag is set (§8, not in force in this revision).
    public var seq: UInt8?
    /// The acknowledgement and credit; when present the `ACK` flag is set (§8, not in force).
    public var ack: Acknowledgement?
    /// Whether the message continues in the next frame: the `MORE` flag (§8, not in force).
    public var more: Bool
    /// The message body, laid out per type (§5).
    public var payload: ByteBuffer

    /// A frame. The defaults give `flags = 0`, the only frames this revision sends.
    public init(
        type: LinkMessageType,
        seq: UInt8? = nil,
        ack: Acknowledgement? = nil,
        more: Bool = false,
        payload: ByteBuffer = ByteBuffer()
    ) {
        self.type = type
        self.seq = seq
        self.ack = ack
        self.more = more
        self.payload = payload
    }

    /// The header's `flags` byte as this frame would send it.
    public var flags: Flags {
        var flags: Flags = []
        if self.seq != nil { flags.insert(.seq) }
        if self.ack != nil { flags.insert(.ack) }
        if self.more { flags.insert(.more) }
        return flags
    }

    /// The header size of a sequenced frame in a session (§8.2, §8.3): type, flags, `seq`, `ack`
    /// and `credit`. Senders size frames with it, since a session adds those fields to each one.
    public static let sequencedHeaderSize = 5

    /// The size of the header: type, flags and the optional fields the flags announce.
    public var headerSize: Int {
        2 + (self.seq == nil ? 0 : 1) + (self.ack == nil ? 0 : 2)
    }

    /// The size of the body: header, payload and CRC. A sender compares it with the peer's
    /// `max_body` (§3) and refuses a frame that does not fit rather than truncating it.
    public var bodySize: Int {
        self.headerSize + self.payload.readableBytes + 4
    }

    /// The body as §3 lays it out, CRC included, before COBS.
    public var body: ByteBuffer {
        var body = ByteBuffer()
        body.reserveCapacity(self.bodySize)
        self.writeBody(into: &body)
        return body
    }

    /// Appends the frame as it goes on the wire: COBS(body) and a `0x00` delimiter, preceded by an
    /// extra `0x00` when `leadingDelimiter` is set (§2; see ``LinkFrameEncoder`` for when).
    public func encode(into out: inout ByteBuffer, leadingDelimiter: Bool) {
        let body = self.body
        out.reserveCapacity(
            minimumWritableBytes: COBS.maximumEncodedLength(bodyLength: body.readableBytes) + 2
        )
        if leadingDelimiter {
            out.writeInteger(UInt8(0))
        }
        COBS.encode(body, into: &out)
        out.writeInteger(UInt8(0))
    }

    private func writeBody(into body: inout ByteBuffer) {
        let start = body.writerIndex
        body.writeInteger(self.type.rawValue)
        body.writeInteger(self.flags.rawValue)
        if let seq = self.seq {
            body.writeInteger(seq)
        }
        if let ack = self.ack {
            body.writeInteger(ack.ack)
            body.writeInteger(ack.credit)
        }
        var payload = self.payload
        body.writeBuffer(&payload)
        let crc = CRC32.checksum(body.getSlice(at: start, length: body.writerIndex - start)!)
        body.writeInteger(crc, endianness: .big)
    }
}

extension LinkFrame {
    /// Parses a decoded body (after COBS), checking it as a receiver of this revision must (§2
    /// rule 4, §3): at least 6 bytes, a matching CRC, and no flags set.
    ///
    /// - Throws: ``LinkFrameError/crc(_:)`` for a body too short or a CRC mismatch, and
    ///   ``LinkFrameError/unsupportedFlags(_:)`` for a header with any flag set.
    public init(body: ByteBuffer) throws(LinkFrameError) {
        try self.init(body: body, supportedFlags: Flags.supported)
    }

    /// Parses a body accepting the header flags in `supportedFlags`. Kept apart so that the layout of
    /// the §8 fields is written and tested now, while this revision accepts none of them.
    init(body: ByteBuffer, supportedFlags: Flags) throws(LinkFrameError) {
        let length = body.readableBytes
        guard length >= LinkProtocol.minimumBodySize else {
            throw .crc(.bodyTooShort(length: length))
        }
        let covered = body.getSlice(at: body.readerIndex, length: length - 4)!
        let received = body.getInteger(at: body.readerIndex + length - 4, endianness: .big, as: UInt32.self)!
        let computed = CRC32.checksum(covered)
        guard received == computed else {
            throw .crc(.mismatch(received: received, computed: computed))
        }

        var header = covered
        let type = header.readInteger(as: UInt8.self)!
        let flagsByte = header.readInteger(as: UInt8.self)!
        let flags = Flags(rawValue: flagsByte)
        guard supportedFlags.isSuperset(of: flags) else {
            throw .unsupportedFlags(flagsByte)
        }

        // Only reachable when §8 is in force: the optional header fields.
        var seq: UInt8?
        if flags.contains(.seq) {
            guard let value = header.readInteger(as: UInt8.self) else {
                throw .crc(.bodyTooShort(length: length))
            }
            seq = value
        }
        var ack: Acknowledgement?
        if flags.contains(.ack) {
            guard let value = header.readInteger(as: UInt8.self),
                let credit = header.readInteger(as: UInt8.self)
            else {
                throw .crc(.bodyTooShort(length: length))
            }
            ack = Acknowledgement(ack: value, credit: credit)
        }
        self.init(type: LinkMessageType(type), seq: seq, ack: ack, more: flags.contains(.more), payload: header)
    }
}

import NIOCore

/// What every packet struct provides to the codec: its type, how to write its body and how to read it back.
///
/// Internal so that the public surface stays ``MQTTPacket``; the structs are public values, the wire format is not.
protocol MQTTControlPacket: Sendable, Equatable {
    static var packetType: MQTTPacketType { get }

    /// The low nibble of the first byte. Defaults to the value the spec fixes for the type.
    var fixedHeaderFlags: UInt8 { get }

    /// Validates the packet for sending and returns its remaining length (variable header plus payload).
    func encodedBodyLength() throws(MQTTEncodeError) -> Int

    /// Writes the variable header and payload; only called after ``encodedBodyLength()`` succeeded.
    func writeBody(into buffer: inout ByteBuffer)

    /// The second phase of decoding: builds the packet from its body (the bytes after the fixed header).
    ///
    /// - Parameters:
    ///   - body: Exactly the packet's remaining-length bytes; the caller rejects anything left unread.
    ///   - flags: The fixed header's flags nibble, already validated for the type.
    static func decode(body: inout ByteBuffer, flags: UInt8) throws(MQTTDecodeError) -> Self
}

extension MQTTControlPacket {
    var fixedHeaderFlags: UInt8 { Self.packetType.requiredFlags ?? 0 }

    /// Writes the whole packet, or nothing if it cannot be encoded.
    func write(into buffer: inout ByteBuffer) throws(MQTTEncodeError) {
        let bodyLength = try self.encodedBodyLength()
        guard bodyLength <= MQTTFixedHeader.maximumRemainingLength else {
            throw .packetTooLarge(Self.packetType, remainingLength: bodyLength)
        }
        buffer.reserveCapacity(minimumWritableBytes: 1 + MQTTFixedHeader.remainingLengthSize(bodyLength) + bodyLength)
        buffer.writeInteger(Self.packetType.rawValue << 4 | self.fixedHeaderFlags)
        buffer.writeMQTTRemainingLength(bodyLength)
        self.writeBody(into: &buffer)
    }
}

/// The acknowledgements that carry nothing but a packet identifier: PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK.
protocol MQTTPacketIdentifierOnly: MQTTControlPacket {
    var packetId: UInt16 { get }
    init(packetId: UInt16)
}

extension MQTTPacketIdentifierOnly {
    func encodedBodyLength() throws(MQTTEncodeError) -> Int {
        try MQTTFieldLength.packetIdentifier(self.packetId, Self.packetType)
    }

    func writeBody(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.packetId)
    }

    static func decode(body: inout ByteBuffer, flags: UInt8) throws(MQTTDecodeError) -> Self {
        Self(packetId: try body.readPacketIdentifier(Self.packetType))
    }
}

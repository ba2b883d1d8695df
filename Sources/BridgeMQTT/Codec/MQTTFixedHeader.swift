import NIOCore

/// The first phase of decoding: the fixed header that frames every control packet (MQTT 3.1.1 §2.2).
///
/// Framing only needs the first two to five bytes, so everything the fixed header alone can prove wrong (type,
/// flags, length) is refused before the body is buffered.
struct MQTTFixedHeader: Sendable, Hashable {
    /// The largest value the four-byte remaining-length field can express (§2.2.3).
    static let maximumRemainingLength = 268_435_455

    var type: MQTTPacketType
    var flags: UInt8
    var remainingLength: Int
    /// Bytes the fixed header itself takes: 1 for type and flags, 1–4 for the remaining length.
    var length: Int

    /// The whole packet: fixed header plus remaining length.
    var packetLength: Int { self.length + self.remainingLength }

    /// Parses the fixed header at the buffer's reader index without moving it.
    ///
    /// - Returns: The header, or `nil` if the buffer does not hold all of it yet.
    /// - Throws: ``MQTTDecodeError`` for a reserved type, reserved flags, PUBLISH flags that are invalid, a remaining
    ///   length longer than four bytes, or a length the type does not allow.
    static func peek(in buffer: ByteBuffer) throws(MQTTDecodeError) -> MQTTFixedHeader? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        guard let type = MQTTPacketType(rawValue: first >> 4) else { throw .unknownPacketType(first >> 4) }
        let flags = first & 0x0F
        try validate(flags: flags, of: type)

        // Variable byte integer: seven bits per byte, least significant first, high bit = more follows (§2.2.3).
        var remainingLength = 0
        var shift = 0
        for index in 1...4 {
            guard let byte = buffer.getInteger(at: start + index, as: UInt8.self) else { return nil }
            remainingLength |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                if let fixed = type.fixedRemainingLength, fixed != remainingLength {
                    throw .invalidRemainingLength(type, length: remainingLength)
                }
                return MQTTFixedHeader(type: type, flags: flags, remainingLength: remainingLength, length: 1 + index)
            }
            shift += 7
        }
        throw .remainingLengthTooLong
    }

    /// Checks the flags nibble: fixed values for every type but PUBLISH, whose DUP/QoS/RETAIN are checked by
    /// ``MQTTPublish``.
    static func validate(flags: UInt8, of type: MQTTPacketType) throws(MQTTDecodeError) {
        if let required = type.requiredFlags {
            guard flags == required else { throw .invalidFlags(type, flags: flags) }
        } else {
            _ = try MQTTPublish.Flags(decoding: flags)
        }
    }

    /// Bytes the remaining-length field takes for a value (1–4).
    static func remainingLengthSize(_ value: Int) -> Int {
        switch value {
        case ..<128: 1
        case ..<16_384: 2
        case ..<2_097_152: 3
        default: 4
        }
    }
}

extension ByteBuffer {
    /// Writes a remaining length (at most ``MQTTFixedHeader/maximumRemainingLength``) in its minimal form.
    mutating func writeMQTTRemainingLength(_ value: Int) {
        var value = value
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value > 0 { byte |= 0x80 }
            self.writeInteger(byte)
        } while value > 0
    }
}

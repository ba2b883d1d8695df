import NIOCore

/// Turns a byte stream into ``MQTTPacket``s: a `ByteToMessageHandler` decoder for a channel pipeline.
///
/// Returns `nil` until a whole packet is buffered. Throws ``MQTTDecodeError`` on the first malformed packet; the
/// connection must then be closed (MQTT 3.1.1 §4.8), after a CONNACK if
/// ``MQTTDecodeError/connAckReturnCode`` asks for one.
public struct MQTTPacketDecoder: NIOSingleStepByteToMessageDecoder, Sendable {
    public typealias InboundOut = MQTTPacket

    /// Exactly fits a 256 KiB payload in a PUBLISH with the longest possible topic: fixed header (1 + a 3-byte
    /// remaining length), topic (2 + 65535) and packet identifier (2) on top of the payload. 327,687 bytes.
    public static let defaultMaximumPacketSize = 256 * 1024 + 4 + 2 + 65_535 + 2

    /// The largest packet the spec allows: a 5-byte fixed header and a remaining length of 268,435,455.
    public static let specificationMaximumPacketSize = 5 + 268_435_455

    /// The largest packet accepted, fixed header included. Larger packets throw
    /// ``MQTTDecodeError/packetTooLarge(size:maximum:)`` as soon as their fixed header arrives.
    public var maximumPacketSize: Int

    /// - Parameter maximumPacketSize: The largest packet accepted, fixed header included. Values above
    ///   ``specificationMaximumPacketSize`` act like it: no packet can be larger.
    public init(maximumPacketSize: Int = MQTTPacketDecoder.defaultMaximumPacketSize) {
        self.maximumPacketSize = maximumPacketSize
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> MQTTPacket? {
        try MQTTPacket.decode(from: &buffer, maximumPacketSize: self.maximumPacketSize)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> MQTTPacket? {
        // A partial packet at EOF stays in the buffer; ByteToMessageHandler reports it as left-over data.
        try self.decode(buffer: &buffer)
    }
}

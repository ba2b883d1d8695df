import NIOCore

/// MESSAGE (0x22, ESP to host): a message the broker delivered for one of the subscriptions (§5.11).
///
/// Named `LinkIncoming` rather than after the spec's MESSAGE so that it does not read as the
/// ``LinkMessage`` enum of all messages.
public struct LinkIncoming: Hashable, Sendable {
    /// The qos the broker delivered it with.
    public var qos: LinkQoS
    /// Whether it is a retained message.
    public var retain: Bool
    /// Whether the broker flagged it as a redelivery.
    public var dup: Bool
    /// The topic name.
    public var topic: String
    /// The message.
    public var payload: ByteBuffer

    /// A MESSAGE.
    public init(qos: LinkQoS, retain: Bool = false, dup: Bool = false, topic: String, payload: ByteBuffer) {
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.topic = topic
        self.payload = payload
    }
}

extension LinkIncoming: LinkPayloadCodable {
    static var messageType: LinkMessageType { .message }

    private static let qosMask: UInt8 = 0b0000_0011
    private static let retainBit: UInt8 = 0b0000_0100
    private static let dupBit: UInt8 = 0b0000_1000

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let flags = try reader.readU8("flags")
        // The ESP subscribes with qos 0 or 1, so an MQTT broker never delivers with 2.
        guard let qos = LinkQoS(rawValue: flags & Self.qosMask) else {
            throw reader.malformed("qos \(flags & Self.qosMask) is not 0 or 1")
        }
        self.init(
            qos: qos,
            retain: flags & Self.retainBit != 0,
            dup: flags & Self.dupBit != 0,
            topic: try reader.readStr16("topic"),
            payload: reader.readRest()
        )
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU8(self.qos.rawValue | (self.retain ? Self.retainBit : 0) | (self.dup ? Self.dupBit : 0))
        try writer.writeStr16(self.topic, field: "topic")
        writer.writeRest(self.payload)
    }
}

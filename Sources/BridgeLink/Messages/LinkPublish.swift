import NIOCore

/// PUBLISH (0x10, host to ESP): publish a message to the broker (§5.6).
///
/// A qos 1 publish is answered with a ``LinkPubAck``; a qos 0 one only when it could not be sent.
public struct LinkPublish: Hashable, Sendable {
    /// `0` or `1`.
    public var qos: LinkQoS
    /// Whether the broker should retain the message.
    public var retain: Bool
    /// `0` for qos 0; for qos 1 a non-zero id, unique among this host's unanswered publishes.
    /// The codec does not enforce this: the session owns the ids.
    public var messageID: UInt16
    /// The MQTT topic name, without wildcards.
    public var topic: String
    /// The message.
    public var payload: ByteBuffer

    /// A PUBLISH.
    public init(qos: LinkQoS, retain: Bool = false, messageID: UInt16, topic: String, payload: ByteBuffer) {
        self.qos = qos
        self.retain = retain
        self.messageID = messageID
        self.topic = topic
        self.payload = payload
    }

    /// The size of the body (header, payload and CRC, §3) of a PUBLISH frame with this topic and
    /// payload length, so that the host can check it against the peer's `max_body` and refuse a
    /// publish that does not fit before building anything.
    public static func bodySize(topic: String, payloadLength: Int) -> Int {
        // type, flags | flags, message_id, topic length | topic | payload | crc32
        2 + 5 + topic.utf8.count + payloadLength + 4
    }

    /// The size of the body of the frame carrying this publish; see ``bodySize(topic:payloadLength:)``.
    public var bodySize: Int {
        Self.bodySize(topic: self.topic, payloadLength: self.payload.readableBytes)
    }
}

extension LinkPublish: LinkPayloadCodable {
    static var messageType: LinkMessageType { .publish }

    private static let qosMask: UInt8 = 0b0000_0011
    private static let retainBit: UInt8 = 0b0000_0100
    /// Reserved for topic ids (§8): it would change the layout of the topic field.
    private static let topicIDBit: UInt8 = 0b0000_1000

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let flags = try reader.readU8("flags")
        guard let qos = LinkQoS(rawValue: flags & Self.qosMask) else {
            throw reader.malformed("qos \(flags & Self.qosMask) is not 0 or 1")
        }
        // Unlike bits 4–7, which can be ignored, this bit means the next field is not a str16.
        guard flags & Self.topicIDBit == 0 else {
            throw reader.malformed("flags set bit 3 (topic ids), which this revision does not support")
        }
        self.init(
            qos: qos,
            retain: flags & Self.retainBit != 0,
            messageID: try reader.readU16("message_id"),
            topic: try reader.readStr16("topic"),
            payload: reader.readRest()
        )
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU8(self.qos.rawValue | (self.retain ? Self.retainBit : 0))
        writer.writeU16(self.messageID)
        try writer.writeStr16(self.topic, field: "topic")
        writer.writeRest(self.payload)
    }
}

import NIOCore

/// PUBLISH (0x10, host to ESP): publish a message to the broker (§5.6).
///
/// A qos 1 publish is answered with a ``LinkPubAck``; a qos 0 one only when it could not be sent.
///
/// Version 2 adds two optional fields (§8.6, §8.7): a topic id in place of the topic (flag bit 3),
/// and `total_length` after the topic (flag bit 4), which the first fragment of a message too
/// large for one frame carries. ``LinkFragmenter`` builds those frames.
public struct LinkPublish: Hashable, Sendable {
    /// `0` or `1`.
    public var qos: LinkQoS
    /// Whether the broker should retain the message.
    public var retain: Bool
    /// `0` for qos 0; for qos 1 a non-zero id, unique among this host's unanswered publishes.
    /// The codec does not enforce this: the session owns the ids.
    public var messageID: UInt16
    /// The MQTT topic name, without wildcards. Not sent when ``topicID`` is set; empty when a
    /// PUBLISH with a topic id is decoded.
    public var topic: String
    /// The registered id sent in place of the topic (§8.7), or `nil` to send the topic itself.
    public var topicID: UInt16?
    /// The payload bytes of the whole message when this is its first fragment (§8.6), else `nil`.
    public var totalLength: UInt32?
    /// The message (in a first fragment: its first part).
    public var payload: ByteBuffer

    /// A PUBLISH.
    public init(
        qos: LinkQoS, retain: Bool = false, messageID: UInt16, topic: String, topicID: UInt16? = nil,
        totalLength: UInt32? = nil, payload: ByteBuffer
    ) {
        self.qos = qos
        self.retain = retain
        self.messageID = messageID
        self.topic = topic
        self.topicID = topicID
        self.totalLength = totalLength
        self.payload = payload
    }

    /// The size of the fields before the payload: flags, message id, the topic (or its id) and
    /// `total_length` when present.
    public var fixedFieldsSize: Int {
        Self.fixedFieldsSize(topicLength: topicID == nil ? topic.utf8.count : nil, withTotalLength: totalLength != nil)
    }

    /// The size of the fields before the payload for a topic of `topicLength` bytes, or a topic id
    /// when `topicLength` is `nil`.
    public static func fixedFieldsSize(topicLength: Int?, withTotalLength: Bool) -> Int {
        // flags, message_id | topic as str16, or topic_id | total_length
        3 + (topicLength.map { 2 + $0 } ?? 2) + (withTotalLength ? 4 : 0)
    }

    /// The size of the body (header, payload and CRC, §3) of a PUBLISH frame without header
    /// fields (as §9's worked example) with this topic and payload length.
    public static func bodySize(topic: String, payloadLength: Int) -> Int {
        2 + fixedFieldsSize(topicLength: topic.utf8.count, withTotalLength: false) + payloadLength + 4
    }

    /// The size of the body of the frame carrying this publish whole, without header fields.
    public var bodySize: Int {
        2 + self.fixedFieldsSize + self.payload.readableBytes + 4
    }

    /// The size of the body once a session has added `seq`, `ack` and `credit` (§8.2): what the
    /// host compares with the ESP's `max_body` in version 2.
    public var sequencedBodySize: Int {
        self.bodySize - 2 + LinkFrame.sequencedHeaderSize
    }
}

extension LinkPublish: LinkPayloadCodable {
    static var messageType: LinkMessageType { .publish }

    private static let qosMask: UInt8 = 0b0000_0011
    private static let retainBit: UInt8 = 0b0000_0100

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let flags = try reader.readU8("flags")
        guard let qos = LinkQoS(rawValue: flags & Self.qosMask) else {
            throw reader.malformed("qos \(flags & Self.qosMask) is not 0 or 1")
        }
        let messageID = try reader.readU16("message_id")
        let (topic, topicID, totalLength) = try LinkTopicField.read(flags: flags, from: &reader)
        self.init(
            qos: qos, retain: flags & Self.retainBit != 0, messageID: messageID, topic: topic, topicID: topicID,
            totalLength: totalLength, payload: reader.readRest())
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        var flags = self.qos.rawValue | (self.retain ? Self.retainBit : 0)
        flags |= LinkTopicField.flags(topicID: self.topicID, totalLength: self.totalLength)
        writer.writeU8(flags)
        writer.writeU16(self.messageID)
        try LinkTopicField.write(
            topic: self.topic, topicID: self.topicID, totalLength: self.totalLength, to: &writer)
        writer.writeRest(self.payload)
    }
}

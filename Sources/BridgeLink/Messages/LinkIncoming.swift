import NIOCore

/// MESSAGE (0x22, ESP to host): a message the broker delivered for one of the subscriptions (§5.11).
///
/// Named `LinkIncoming` rather than after the spec's MESSAGE so that it does not read as the
/// ``LinkMessage`` enum of all messages.
///
/// Version 2 gives flag bit 3 to `TOPIC_ID` (§8.7; version 1's `dup` is gone) and bit 4 to
/// `LENGTH` (§8.6): the first fragment of a message too large for one frame carries
/// `total_length`. ``MessageReassembler`` joins the fragments.
public struct LinkIncoming: Hashable, Sendable {
    /// The qos the broker delivered it with.
    public var qos: LinkQoS
    /// Whether it is a retained message.
    public var retain: Bool
    /// The topic name; empty when the frame carried ``topicID`` instead.
    public var topic: String
    /// The id the ESP registered for the topic (§8.7), when the frame carried one.
    public var topicID: UInt16?
    /// The payload bytes of the whole message when this is its first fragment (§8.6), else `nil`.
    public var totalLength: UInt32?
    /// The message (in a first fragment: its first part).
    public var payload: ByteBuffer

    /// A MESSAGE.
    public init(
        qos: LinkQoS, retain: Bool = false, topic: String, topicID: UInt16? = nil, totalLength: UInt32? = nil,
        payload: ByteBuffer
    ) {
        self.qos = qos
        self.retain = retain
        self.topic = topic
        self.topicID = topicID
        self.totalLength = totalLength
        self.payload = payload
    }
}

extension LinkIncoming: LinkPayloadCodable {
    static var messageType: LinkMessageType { .message }

    private static let qosMask: UInt8 = 0b0000_0011
    private static let retainBit: UInt8 = 0b0000_0100

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let flags = try reader.readU8("flags")
        // The ESP subscribes with qos 0 or 1, so an MQTT broker never delivers with 2.
        guard let qos = LinkQoS(rawValue: flags & Self.qosMask) else {
            throw reader.malformed("qos \(flags & Self.qosMask) is not 0 or 1")
        }
        let (topic, topicID, totalLength) = try LinkTopicField.read(flags: flags, from: &reader)
        self.init(
            qos: qos, retain: flags & Self.retainBit != 0, topic: topic, topicID: topicID, totalLength: totalLength,
            payload: reader.readRest())
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        var flags = self.qos.rawValue | (self.retain ? Self.retainBit : 0)
        flags |= LinkTopicField.flags(topicID: self.topicID, totalLength: self.totalLength)
        writer.writeU8(flags)
        try LinkTopicField.write(
            topic: self.topic, topicID: self.topicID, totalLength: self.totalLength, to: &writer)
        writer.writeRest(self.payload)
    }
}

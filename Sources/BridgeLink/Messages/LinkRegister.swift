import NIOCore

/// REGISTER (§8.7, version 2): from now on in this session, `topicID` stands for `topic`.
///
/// Travels as 0x13 from the host (ids for its PUBLISH frames, up to the ESP's `max_topics`) and
/// as 0x27 from the ESP (ids for its MESSAGE frames, up to the host's `max_topics`); the payload
/// is the same both ways. A later REGISTER of the same id replaces it.
public struct LinkRegister: Hashable, Sendable {
    /// `1` … the receiver's `max_topics`.
    public var topicID: UInt16
    /// The MQTT topic name the id stands for.
    public var topic: String

    /// A REGISTER.
    public init(topicID: UInt16, topic: String) {
        self.topicID = topicID
        self.topic = topic
    }
}

extension LinkRegister: LinkPayloadCodable {
    /// The host's type; ``LinkMessage`` sends the ESP's with ``LinkMessageType/registerFromESP``.
    static var messageType: LinkMessageType { .register }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let topicID = try reader.readU16("topic_id")
        guard topicID != 0 else { throw reader.malformed("topic_id 0 is not a topic id") }
        self.init(topicID: topicID, topic: try reader.readStr16("topic"))
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU16(self.topicID)
        try writer.writeStr16(self.topic, field: "topic")
    }
}

/// The topic part that PUBLISH (§5.6) and MESSAGE (§5.11) share: a `str16` name, or a
/// `topic_id:u16` when the flags have `TOPIC_ID` (§8.7); then a `total_length:u32` when they have
/// `LENGTH` (§8.6), the first fragment of a larger message.
enum LinkTopicField {
    /// `TOPIC_ID` (§8.7): the topic field is a `topic_id:u16`.
    static let topicIDBit: UInt8 = 0b0000_1000
    /// `LENGTH` (§8.6): a `total_length:u32` follows the topic field.
    static let lengthBit: UInt8 = 0b0001_0000

    /// The flag bits for these fields.
    static func flags(topicID: UInt16?, totalLength: UInt32?) -> UInt8 {
        (topicID != nil ? topicIDBit : 0) | (totalLength != nil ? lengthBit : 0)
    }

    static func read(
        flags: UInt8, from reader: inout LinkPayloadReader
    ) throws(LinkMessageError) -> (topic: String, topicID: UInt16?, totalLength: UInt32?) {
        var topic = ""
        var topicID: UInt16?
        if flags & topicIDBit != 0 {
            topicID = try reader.readU16("topic_id")
        } else {
            topic = try reader.readStr16("topic")
        }
        let totalLength = flags & lengthBit != 0 ? try reader.readU32("total_length") : nil
        return (topic, topicID, totalLength)
    }

    static func write(
        topic: String, topicID: UInt16?, totalLength: UInt32?, to writer: inout LinkPayloadWriter
    ) throws(LinkMessageEncodingError) {
        if let topicID {
            writer.writeU16(topicID)
        } else {
            try writer.writeStr16(topic, field: "topic")
        }
        if let totalLength { writer.writeU32(totalLength) }
    }
}

/// Why a packet value cannot be written as a valid MQTT 3.1.1 control packet.
///
/// The encoder refuses what the decoder would reject, so a peer never receives a packet it must treat as a
/// protocol violation. Nothing is written to the buffer when encoding fails.
public enum MQTTEncodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A string or binary field is longer than its 16-bit length prefix can express.
    case fieldTooLong(MQTTPacketType, field: MQTTField, byteCount: Int)
    /// A string field contains U+0000, which MQTT strings must not (MQTT-1.4.0-2).
    case nullCharacter(MQTTPacketType, field: MQTTField)
    /// A PUBLISH topic or a will topic is not a valid topic name.
    case invalidTopicName(MQTTPacketType, String, TopicError)
    /// A SUBSCRIBE or UNSUBSCRIBE topic filter is invalid.
    case invalidTopicFilter(MQTTPacketType, String, TopicError)
    /// A PUBLISH with QoS 1 or 2 has no packet identifier.
    case missingPacketIdentifier(MQTTQoS)
    /// A QoS 0 PUBLISH has a packet identifier (MQTT-2.3.1-5).
    case unexpectedPacketIdentifier
    /// A packet identifier is 0 (MQTT-2.3.1-1).
    case zeroPacketIdentifier(MQTTPacketType)
    /// A QoS 0 PUBLISH has DUP set (MQTT-3.3.1-2).
    case dupWithQoS0
    /// SUBSCRIBE, SUBACK or UNSUBSCRIBE has no entries.
    case emptyPayload(MQTTPacketType)
    /// A CONNECT has a password but no user name (MQTT-3.1.2-22).
    case passwordWithoutUsername
    /// A CONNACK claims a present session while refusing the connection (MQTT-3.2.2-4).
    case sessionPresentWithRefusal(MQTTConnAck.ReturnCode)
    /// The packet is larger than the 268,435,455 bytes a remaining length can express.
    case packetTooLarge(MQTTPacketType, remainingLength: Int)

    public var description: String {
        switch self {
        case .fieldTooLong(let type, let field, let count):
            "\(field) of \(type) is \(count) bytes long (the maximum is 65535)"
        case .nullCharacter(let type, let field):
            "\(field) of \(type) contains U+0000"
        case .invalidTopicName(let type, let name, let reason):
            "\(type) \(type == .connect ? "will topic" : "topic") '\(abbreviated(name))' \(reason)"
        case .invalidTopicFilter(let type, let filter, let reason):
            "\(type) topic filter '\(abbreviated(filter))' \(reason)"
        case .missingPacketIdentifier(let qos):
            "PUBLISH with \(qos) needs a packet identifier"
        case .unexpectedPacketIdentifier:
            "PUBLISH with qos 0 must not carry a packet identifier"
        case .zeroPacketIdentifier(let type):
            "\(type) has packet identifier 0 (must be non-zero)"
        case .dupWithQoS0:
            "PUBLISH has DUP set with qos 0"
        case .emptyPayload(let type):
            "\(type) needs at least one \(type == .subAck ? "return code" : "topic filter")"
        case .passwordWithoutUsername:
            "CONNECT has a password but no user name"
        case .sessionPresentWithRefusal(let code):
            "CONNACK cannot claim a present session while refusing the connection (\(code))"
        case .packetTooLarge(let type, let length):
            "\(type) of \(length) bytes exceeds the 268435455 a remaining length can express"
        }
    }
}

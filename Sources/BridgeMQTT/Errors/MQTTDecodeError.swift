/// Why bytes received from a peer are not a valid MQTT 3.1.1 control packet.
///
/// Every case is a protocol violation after which the spec requires the receiver to close the network connection
/// (MQTT 3.1.1 §4.8). One case asks for a CONNACK first: see ``connAckReturnCode``.
public enum MQTTDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    // MARK: Fixed header

    /// The packet type nibble is 0 or 15, both reserved.
    case unknownPacketType(UInt8)
    /// The flags nibble of a packet other than PUBLISH differs from the value the spec fixes for its type.
    case invalidFlags(MQTTPacketType, flags: UInt8)
    /// The variable-length remaining-length field has a continuation bit on its fourth byte.
    case remainingLengthTooLong
    /// The packet (fixed header included) is larger than the decoder's configured maximum.
    case packetTooLarge(size: Int, maximum: Int)
    /// A packet whose length the spec fixes (e.g. PUBACK: 2, PINGREQ: 0) declares another remaining length.
    case invalidRemainingLength(MQTTPacketType, length: Int)

    // MARK: Layout

    /// The packet ends before the field is complete.
    case truncated(MQTTPacketType, field: MQTTField)
    /// Bytes remain after the last field of a packet whose payload is not open-ended.
    case trailingBytes(MQTTPacketType, count: Int)

    // MARK: Strings and topics

    /// A UTF-8 string field is not well-formed UTF-8 (overlong forms and surrogates included; MQTT-1.4.0-1).
    case invalidUTF8(MQTTPacketType, field: MQTTField)
    /// A UTF-8 string field contains U+0000 (MQTT-1.4.0-2).
    case nullCharacter(MQTTPacketType, field: MQTTField)
    /// A PUBLISH topic or a CONNECT will topic is not a valid topic name (e.g. it contains a wildcard).
    case invalidTopicName(MQTTPacketType, String, TopicError)
    /// A SUBSCRIBE or UNSUBSCRIBE topic filter is invalid (e.g. `#` not last).
    case invalidTopicFilter(MQTTPacketType, String, TopicError)

    // MARK: Values

    /// A QoS field holds 3 (MQTT-3.3.1-4, MQTT-3.1.2-14, MQTT-3-8.3-4).
    case invalidQoS(MQTTPacketType, value: UInt8)
    /// A QoS 0 PUBLISH has its DUP flag set (MQTT-3.3.1-2).
    case dupWithQoS0
    /// A packet identifier is 0 (MQTT-2.3.1-1).
    case zeroPacketIdentifier(MQTTPacketType)
    /// SUBSCRIBE, SUBACK or UNSUBSCRIBE carries no entries (MQTT-3.8.3-3, MQTT-3.10.3-2).
    case emptyPayload(MQTTPacketType)
    /// A SUBSCRIBE requested-QoS byte has its upper six (reserved) bits set (MQTT-3-8.3-4).
    case reservedSubscriptionOptions(UInt8)

    // MARK: CONNECT

    /// The protocol name is neither `MQTT` nor the 3.1 name `MQIsdp` (MQTT-3.1.2-1).
    case invalidProtocolName(String)
    /// The client speaks another MQTT version (3.1's `MQIsdp`, or `MQTT` with a level other than 4).
    case unsupportedProtocolVersion(name: String, level: UInt8)
    /// Bit 0 of the connect flags is set (MQTT-3.1.2-3).
    case reservedConnectFlag
    /// Will QoS or will retain is set without the will flag (MQTT-3.1.2-13, MQTT-3.1.2-15).
    case willFlagsWithoutWill(flags: UInt8)
    /// The password flag is set without the user name flag (MQTT-3.1.2-22).
    case passwordWithoutUsername

    // MARK: CONNACK and SUBACK

    /// Bits 7–1 of the CONNACK acknowledge flags are set.
    case reservedConnAckFlags(UInt8)
    /// The CONNACK return code is not one of the six the spec defines.
    case unknownConnAckReturnCode(UInt8)
    /// CONNACK refuses the connection yet claims a session is present (MQTT-3.2.2-4).
    case sessionPresentWithRefusal(MQTTConnAck.ReturnCode)
    /// A SUBACK return code is not 0x00, 0x01, 0x02 or 0x80 (MQTT-3.9.3-2).
    case invalidSubAckReturnCode(UInt8)

    /// The CONNACK a server must send before closing, or `nil` when it must close without one.
    ///
    /// MQTT-3.1.2-2 asks a server to answer an unsupported protocol level with return code 0x01; every other
    /// malformed CONNECT is closed without a CONNACK (MQTT-3.1.4-1).
    public var connAckReturnCode: MQTTConnAck.ReturnCode? {
        switch self {
        case .unsupportedProtocolVersion: .unacceptableProtocolVersion
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .unknownPacketType(let value):
            "unknown packet type \(value) (types 0 and 15 are reserved)"
        case .invalidFlags(let type, let flags):
            "reserved flags \(hex(flags)) set on \(type) (must be \(hex(type.requiredFlags ?? 0)))"
        case .remainingLengthTooLong:
            "remaining length uses more than 4 bytes"
        case .packetTooLarge(let size, let maximum):
            "packet of \(size) bytes exceeds the maximum \(maximum)"
        case .invalidRemainingLength(let type, let length):
            "\(type) has remaining length \(length) (must be \(type.fixedRemainingLength ?? 0))"
        case .truncated(let type, let field):
            "\(type) ends inside its \(field)"
        case .trailingBytes(let type, let count):
            "\(count) unexpected byte\(count == 1 ? "" : "s") after the end of \(type)"
        case .invalidUTF8(let type, let field):
            "invalid UTF-8 in \(field) of \(type)"
        case .nullCharacter(let type, let field):
            "\(field) of \(type) contains U+0000"
        case .invalidTopicName(let type, let name, let reason):
            "\(type) \(type == .connect ? "will topic" : "topic") '\(abbreviated(name))' \(reason)"
        case .invalidTopicFilter(let type, let filter, let reason):
            "\(type) topic filter '\(abbreviated(filter))' \(reason)"
        case .invalidQoS(let type, let value):
            "qos \(value) in \(type) (must be 0, 1 or 2)"
        case .dupWithQoS0:
            "PUBLISH has DUP set with qos 0"
        case .zeroPacketIdentifier(let type):
            "\(type) has packet identifier 0 (must be non-zero)"
        case .emptyPayload(let type):
            "\(type) carries no \(type == .subAck ? "return codes" : "topic filters") (at least one is required)"
        case .reservedSubscriptionOptions(let byte):
            "SUBSCRIBE requested-qos byte \(hex(byte)) has reserved bits set"
        case .invalidProtocolName(let name):
            "CONNECT protocol name '\(abbreviated(name))' is not 'MQTT'"
        case .unsupportedProtocolVersion(let name, let level):
            "CONNECT asks for protocol '\(abbreviated(name))' level \(level); only MQTT 3.1.1 ('MQTT' level 4) is supported"
        case .reservedConnectFlag:
            "CONNECT flags have the reserved bit 0 set"
        case .willFlagsWithoutWill(let flags):
            "CONNECT flags \(hex(flags)) set will qos or will retain without the will flag"
        case .passwordWithoutUsername:
            "CONNECT sets the password flag without the user name flag"
        case .reservedConnAckFlags(let flags):
            "CONNACK acknowledge flags \(hex(flags)) have reserved bits set"
        case .unknownConnAckReturnCode(let code):
            "CONNACK return code \(code) is not defined by MQTT 3.1.1"
        case .sessionPresentWithRefusal(let code):
            "CONNACK claims a present session while refusing the connection (\(code))"
        case .invalidSubAckReturnCode(let code):
            "SUBACK return code \(hex(code)) is reserved"
        }
    }
}

/// `0x3`-style rendering: the form the spec's tables use for flag values.
func hex(_ value: UInt8) -> String {
    "0x" + String(value, radix: 16, uppercase: true)
}

/// Keeps peer-controlled strings (up to 64 KiB) from flooding a log line.
func abbreviated(_ string: String, limit: Int = 80) -> String {
    guard string.count > limit else { return string }
    return string.prefix(limit) + "…"
}

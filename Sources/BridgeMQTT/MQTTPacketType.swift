/// The control packet type: the high nibble of a packet's first byte (MQTT 3.1.1 §2.2.1).
public enum MQTTPacketType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case connect = 1
    case connAck = 2
    case publish = 3
    case pubAck = 4
    case pubRec = 5
    case pubRel = 6
    case pubComp = 7
    case subscribe = 8
    case subAck = 9
    case unsubscribe = 10
    case unsubAck = 11
    case pingReq = 12
    case pingResp = 13
    case disconnect = 14

    /// The flags nibble the spec requires for this type, or `nil` for PUBLISH, whose flags carry DUP, QoS and RETAIN
    /// (MQTT 3.1.1 §2.2.2, Table 2.2).
    public var requiredFlags: UInt8? {
        switch self {
        case .publish: nil
        // These three are the packets that start a handshake the receiver must answer; 3.1 used QoS 1 for them
        // and 3.1.1 kept the bit pattern as a fixed value.
        case .pubRel, .subscribe, .unsubscribe: 0x2
        default: 0x0
        }
    }

    /// The remaining length the spec fixes for this type, or `nil` when the packet has a variable part.
    ///
    /// Checked as soon as the fixed header arrives, so a bogus length is refused before its bytes are buffered.
    public var fixedRemainingLength: Int? {
        switch self {
        case .connAck, .pubAck, .pubRec, .pubRel, .pubComp, .unsubAck: 2
        case .pingReq, .pingResp, .disconnect: 0
        case .connect, .publish, .subscribe, .subAck, .unsubscribe: nil
        }
    }

    /// The name the specification uses, e.g. `SUBSCRIBE`.
    public var description: String {
        switch self {
        case .connect: "CONNECT"
        case .connAck: "CONNACK"
        case .publish: "PUBLISH"
        case .pubAck: "PUBACK"
        case .pubRec: "PUBREC"
        case .pubRel: "PUBREL"
        case .pubComp: "PUBCOMP"
        case .subscribe: "SUBSCRIBE"
        case .subAck: "SUBACK"
        case .unsubscribe: "UNSUBSCRIBE"
        case .unsubAck: "UNSUBACK"
        case .pingReq: "PINGREQ"
        case .pingResp: "PINGRESP"
        case .disconnect: "DISCONNECT"
        }
    }
}

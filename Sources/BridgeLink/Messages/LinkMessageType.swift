/// The `type` byte of a frame header (§3, §5).
///
/// A struct rather than an enum because any byte may arrive on the line: unassigned types must be
/// representable so that the receiver can answer them with ERROR `unknown-type` (§5).
public struct LinkMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The `type` byte.
    public var rawValue: UInt8

    /// The type for a `type` byte, assigned or not.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// The type for a `type` byte, assigned or not.
    public init(_ rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// HELLO, both directions (§5.1).
    public static let hello = Self(0x01)
    /// CONFIG, host to ESP (§5.2).
    public static let config = Self(0x02)
    /// CONFIG_ACK, ESP to host (§5.3).
    public static let configAck = Self(0x03)
    /// ERROR, both directions (§5.4).
    public static let error = Self(0x04)
    /// PING, both directions (§5.5).
    public static let ping = Self(0x05)
    /// PONG, both directions (§5.5).
    public static let pong = Self(0x06)
    /// ACK, both directions: acknowledgement and credit with nothing else to send (§8.3, version 2).
    public static let ack = Self(0x07)
    /// PUBLISH, host to ESP (§5.6).
    public static let publish = Self(0x10)
    /// SUBSCRIBE, host to ESP (§5.7).
    public static let subscribe = Self(0x11)
    /// UNSUBSCRIBE, host to ESP (§5.8).
    public static let unsubscribe = Self(0x12)
    /// REGISTER, host to ESP: a topic id for the host's PUBLISH frames (§8.7, version 2).
    public static let register = Self(0x13)
    /// BAUD, host to ESP: switch the line rate (§8.8, version 2).
    public static let baud = Self(0x14)
    /// PUBACK, ESP to host (§5.9).
    public static let pubAck = Self(0x20)
    /// SUBACK, ESP to host (§5.10).
    public static let subAck = Self(0x21)
    /// MESSAGE, ESP to host: a message from the broker (§5.11).
    public static let message = Self(0x22)
    /// WIFI, ESP to host (§5.12).
    public static let wifi = Self(0x23)
    /// BROKER, ESP to host (§5.13).
    public static let broker = Self(0x24)
    /// LOG, ESP to host (§5.14).
    public static let log = Self(0x25)
    /// STATS, ESP to host (§5.15).
    public static let stats = Self(0x26)
    /// REGISTER, ESP to host: a topic id for the ESP's MESSAGE frames (§8.7, version 2).
    public static let registerFromESP = Self(0x27)

    /// Every type assigned in this revision, in table order (§5).
    public static let allAssigned: [LinkMessageType] = [
        .hello, .config, .configAck, .error, .ping, .pong, .ack,
        .publish, .subscribe, .unsubscribe, .register, .baud,
        .pubAck, .subAck, .message, .wifi, .broker, .log, .stats, .registerFromESP,
    ]

    /// The name the spec gives the type (`PUBACK`), or `nil` when the type is unassigned.
    public var name: String? {
        self.assignment?.name
    }

    /// Whether this revision assigns the type.
    public var isAssigned: Bool {
        self.assignment != nil
    }

    /// Whether a frame of this type may travel in `direction`. Unassigned types travel in none.
    public func isAllowed(_ direction: LinkDirection) -> Bool {
        guard let assignment = self.assignment else { return false }
        switch direction {
        case .hostToESP: return assignment.hostToESP
        case .espToHost: return assignment.espToHost
        }
    }

    /// Whether frames of this type travel sequenced within a link session (§8.2): all but HELLO,
    /// ERROR, PING, PONG and ACK.
    public var isSequenced: Bool {
        self != .hello && self != .error && self != .ping && self != .pong && self != .ack
    }

    /// Whether the host may send this type (§5's direction column).
    public var isHostToESP: Bool { self.isAllowed(.hostToESP) }

    /// Whether the ESP may send this type (§5's direction column).
    public var isESPToHost: Bool { self.isAllowed(.espToHost) }

    public var description: String {
        let hex = "0x" + (self.rawValue < 0x10 ? "0" : "") + String(self.rawValue, radix: 16)
        if let name = self.name {
            return "\(name) (\(hex))"
        }
        return "unassigned type \(hex)"
    }

    private var assignment: (name: String, hostToESP: Bool, espToHost: Bool)? {
        switch self.rawValue {
        case 0x01: return ("HELLO", true, true)
        case 0x02: return ("CONFIG", true, false)
        case 0x03: return ("CONFIG_ACK", false, true)
        case 0x04: return ("ERROR", true, true)
        case 0x05: return ("PING", true, true)
        case 0x06: return ("PONG", true, true)
        case 0x07: return ("ACK", true, true)
        case 0x10: return ("PUBLISH", true, false)
        case 0x11: return ("SUBSCRIBE", true, false)
        case 0x12: return ("UNSUBSCRIBE", true, false)
        case 0x13: return ("REGISTER", true, false)
        case 0x14: return ("BAUD", true, false)
        case 0x20: return ("PUBACK", false, true)
        case 0x21: return ("SUBACK", false, true)
        case 0x22: return ("MESSAGE", false, true)
        case 0x23: return ("WIFI", false, true)
        case 0x24: return ("BROKER", false, true)
        case 0x25: return ("LOG", false, true)
        case 0x26: return ("STATS", false, true)
        case 0x27: return ("REGISTER", false, true)
        default: return nil
        }
    }
}

/// Which way a frame travels on the line.
public enum LinkDirection: Hashable, Sendable, CustomStringConvertible {
    /// From the host daemon to the ESP8266 (H→E in the spec).
    case hostToESP
    /// From the ESP8266 to the host daemon (E→H in the spec).
    case espToHost

    public var description: String {
        switch self {
        case .hostToESP: return "host to ESP"
        case .espToHost: return "ESP to host"
        }
    }
}

/// The quality of service of a PUBLISH or a subscription (MQTT 3.1.1 §4.3).
public enum MQTTQoS: UInt8, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Fire and forget: no acknowledgement, the message may be lost.
    case atMostOnce = 0
    /// Acknowledged by PUBACK; the message may arrive more than once.
    case atLeastOnce = 1
    /// Four-way handshake (PUBREC, PUBREL, PUBCOMP); the message arrives exactly once.
    case exactlyOnce = 2

    public static func < (lhs: MQTTQoS, rhs: MQTTQoS) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String { "qos \(self.rawValue)" }
}

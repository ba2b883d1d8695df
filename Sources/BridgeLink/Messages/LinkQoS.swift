/// The MQTT quality of service the link carries: the bridge supports qos 0 and 1 only (§5.6, §5.7).
public enum LinkQoS: UInt8, Hashable, Sendable, CaseIterable {
    /// At most once: sent once, never acknowledged by the broker.
    case atMostOnce = 0
    /// At least once: held by the ESP until the broker acknowledges it.
    case atLeastOnce = 1
}

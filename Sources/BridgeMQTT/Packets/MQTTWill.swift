import NIOCore

/// The message a server publishes on a client's behalf when its connection ends without DISCONNECT (§3.1.2.5).
public struct MQTTWill: Sendable, Equatable {
    /// Where the will is published; a valid topic name (no wildcards).
    public var topic: String
    /// The application message; may be empty.
    public var payload: ByteBuffer
    public var qos: MQTTQoS
    public var retain: Bool

    public init(topic: String, payload: ByteBuffer, qos: MQTTQoS = .atMostOnce, retain: Bool = false) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

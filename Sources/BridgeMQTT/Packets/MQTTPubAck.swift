/// PUBACK: acknowledges a QoS 1 PUBLISH (MQTT 3.1.1 §3.4).
public struct MQTTPubAck: Sendable, Hashable {
    /// The identifier of the packet being answered; never 0.
    public var packetId: UInt16

    public init(packetId: UInt16) {
        self.packetId = packetId
    }
}

extension MQTTPubAck: MQTTPacketIdentifierOnly {
    static var packetType: MQTTPacketType { .pubAck }
}

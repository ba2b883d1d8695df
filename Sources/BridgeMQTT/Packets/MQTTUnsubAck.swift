/// UNSUBACK: confirms an UNSUBSCRIBE (MQTT 3.1.1 §3.11).
public struct MQTTUnsubAck: Sendable, Hashable {
    /// The identifier of the packet being answered; never 0.
    public var packetId: UInt16

    public init(packetId: UInt16) {
        self.packetId = packetId
    }
}

extension MQTTUnsubAck: MQTTPacketIdentifierOnly {
    static var packetType: MQTTPacketType { .unsubAck }
}

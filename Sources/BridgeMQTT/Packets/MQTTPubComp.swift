/// PUBCOMP: the last step of the QoS 2 handshake, "publish complete" (MQTT 3.1.1 §3.7).
public struct MQTTPubComp: Sendable, Hashable {
    /// The identifier of the packet being answered; never 0.
    public var packetId: UInt16

    public init(packetId: UInt16) {
        self.packetId = packetId
    }
}

extension MQTTPubComp: MQTTPacketIdentifierOnly {
    static var packetType: MQTTPacketType { .pubComp }
}

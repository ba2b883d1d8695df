/// PUBREC: first answer to a QoS 2 PUBLISH, "publish received" (MQTT 3.1.1 §3.5).
public struct MQTTPubRec: Sendable, Hashable {
    /// The identifier of the packet being answered; never 0.
    public var packetId: UInt16

    public init(packetId: UInt16) {
        self.packetId = packetId
    }
}

extension MQTTPubRec: MQTTPacketIdentifierOnly {
    static var packetType: MQTTPacketType { .pubRec }
}

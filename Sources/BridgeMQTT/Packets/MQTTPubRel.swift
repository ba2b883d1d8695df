/// PUBREL: the publisher's answer to PUBREC, "publish release" (MQTT 3.1.1 §3.6). Its fixed header flags are 0x2.
public struct MQTTPubRel: Sendable, Hashable {
    /// The identifier of the packet being answered; never 0.
    public var packetId: UInt16

    public init(packetId: UInt16) {
        self.packetId = packetId
    }
}

extension MQTTPubRel: MQTTPacketIdentifierOnly {
    static var packetType: MQTTPacketType { .pubRel }
}

import NIOCore

/// UNSUBSCRIBE: a client drops one or more subscriptions, named by their exact filters (MQTT 3.1.1 §3.10).
public struct MQTTUnsubscribe: Sendable, Equatable {
    /// Echoed by the UNSUBACK; never 0.
    public var packetId: UInt16
    /// At least one valid topic filter. Compared byte for byte with existing subscriptions, wildcards included
    /// (MQTT-3.10.4-1): ``TopicFilter``'s equality does exactly that.
    public var filters: [String]

    public init(packetId: UInt16, filters: [String]) {
        self.packetId = packetId
        self.filters = filters
    }
}

extension MQTTUnsubscribe: MQTTControlPacket {
    static var packetType: MQTTPacketType { .unsubscribe }

    func encodedBodyLength() throws(MQTTEncodeError) -> Int {
        var length = try MQTTFieldLength.packetIdentifier(self.packetId, .unsubscribe)
        guard !self.filters.isEmpty else { throw .emptyPayload(.unsubscribe) }
        for filter in self.filters {
            length += try MQTTFieldLength.topicFilter(filter, .unsubscribe)
        }
        return length
    }

    func writeBody(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.packetId)
        for filter in self.filters {
            buffer.writeMQTTString(filter)
        }
    }

    static func decode(body: inout ByteBuffer, flags _: UInt8) throws(MQTTDecodeError) -> MQTTUnsubscribe {
        let packetId = try body.readPacketIdentifier(.unsubscribe)
        var filters: [String] = []
        while body.readableBytes > 0 {
            filters.append(try body.readTopicFilter(.unsubscribe))
        }
        guard !filters.isEmpty else { throw .emptyPayload(.unsubscribe) }
        return MQTTUnsubscribe(packetId: packetId, filters: filters)
    }
}

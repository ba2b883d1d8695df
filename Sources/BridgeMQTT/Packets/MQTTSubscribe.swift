import NIOCore

/// SUBSCRIBE: a client asks for messages matching one or more topic filters (MQTT 3.1.1 §3.8).
public struct MQTTSubscribe: Sendable, Equatable {
    /// Echoed by the SUBACK; never 0.
    public var packetId: UInt16
    /// At least one; the SUBACK answers them in this order.
    public var subscriptions: [MQTTSubscription]

    public init(packetId: UInt16, subscriptions: [MQTTSubscription]) {
        self.packetId = packetId
        self.subscriptions = subscriptions
    }
}

extension MQTTSubscribe: MQTTControlPacket {
    static var packetType: MQTTPacketType { .subscribe }

    func encodedBodyLength() throws(MQTTEncodeError) -> Int {
        var length = try MQTTFieldLength.packetIdentifier(self.packetId, .subscribe)
        guard !self.subscriptions.isEmpty else { throw .emptyPayload(.subscribe) }
        for subscription in self.subscriptions {
            length += try MQTTFieldLength.topicFilter(subscription.filter, .subscribe) + 1
        }
        return length
    }

    func writeBody(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.packetId)
        for subscription in self.subscriptions {
            buffer.writeMQTTString(subscription.filter)
            buffer.writeInteger(subscription.qos.rawValue)
        }
    }

    static func decode(body: inout ByteBuffer, flags _: UInt8) throws(MQTTDecodeError) -> MQTTSubscribe {
        let packetId = try body.readPacketIdentifier(.subscribe)
        var subscriptions: [MQTTSubscription] = []
        while body.readableBytes > 0 {
            let filter = try body.readTopicFilter(.subscribe)
            let options = try body.readMQTTByte(.subscribe, .requestedQoS)
            // MQTT 5 gave these bits meaning; in 3.1.1 they are reserved and must be 0 (MQTT-3-8.3-4).
            guard options & 0xFC == 0 else { throw .reservedSubscriptionOptions(options) }
            guard let qos = MQTTQoS(rawValue: options) else { throw .invalidQoS(.subscribe, value: options) }
            subscriptions.append(MQTTSubscription(filter: filter, qos: qos))
        }
        guard !subscriptions.isEmpty else { throw .emptyPayload(.subscribe) }
        return MQTTSubscribe(packetId: packetId, subscriptions: subscriptions)
    }
}

extension ByteBuffer {
    /// Reads a topic filter string and validates it (§4.7), as SUBSCRIBE and UNSUBSCRIBE carry them.
    mutating func readTopicFilter(_ type: MQTTPacketType) throws(MQTTDecodeError) -> String {
        let string = try self.readMQTTString(type, .topicFilter)
        do {
            _ = try TopicFilter(string)
        } catch {
            throw .invalidTopicFilter(type, string, error)
        }
        return string
    }
}

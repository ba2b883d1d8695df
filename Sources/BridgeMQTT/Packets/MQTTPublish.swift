import NIOCore

/// PUBLISH: an application message, in either direction (MQTT 3.1.1 §3.3).
public struct MQTTPublish: Sendable, Equatable {
    /// A topic name: no wildcards, at least one character.
    public var topic: String
    public var payload: ByteBuffer
    public var qos: MQTTQoS
    /// Sent by a client: the server keeps the message for future subscribers. Sent by a server: the message was
    /// retained, not live.
    public var retain: Bool
    /// This may be a re-delivery of an earlier attempt; only meaningful for QoS 1 and 2.
    public var dup: Bool
    /// Present exactly when `qos` is above 0.
    public var packetId: UInt16?

    public init(
        topic: String,
        payload: ByteBuffer,
        qos: MQTTQoS = .atMostOnce,
        retain: Bool = false,
        dup: Bool = false,
        packetId: UInt16? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.packetId = packetId
    }

    /// The fixed header flags of a PUBLISH (§3.3.1): DUP, QoS and RETAIN.
    struct Flags: Sendable, Hashable {
        var dup: Bool
        var qos: MQTTQoS
        var retain: Bool

        /// Reads the flags nibble, rejecting QoS 3 (MQTT-3.3.1-4) and DUP on QoS 0 (MQTT-3.3.1-2).
        init(decoding nibble: UInt8) throws(MQTTDecodeError) {
            let qosValue = (nibble >> 1) & 0x3
            guard let qos = MQTTQoS(rawValue: qosValue) else { throw .invalidQoS(.publish, value: qosValue) }
            let dup = nibble & 0x8 != 0
            if dup && qos == .atMostOnce { throw .dupWithQoS0 }
            self.dup = dup
            self.qos = qos
            self.retain = nibble & 0x1 != 0
        }
    }
}

extension MQTTPublish: MQTTControlPacket {
    static var packetType: MQTTPacketType { .publish }

    var fixedHeaderFlags: UInt8 {
        (self.dup ? 0x8 : 0) | self.qos.rawValue << 1 | (self.retain ? 0x1 : 0)
    }

    func encodedBodyLength() throws(MQTTEncodeError) -> Int {
        var length = try MQTTFieldLength.topicName(self.topic, .publish)
        switch (self.qos, self.packetId) {
        case (.atMostOnce, nil):
            if self.dup { throw .dupWithQoS0 }
        case (.atMostOnce, .some):
            throw .unexpectedPacketIdentifier
        case (_, nil):
            throw .missingPacketIdentifier(self.qos)
        case (_, .some(let id)):
            length += try MQTTFieldLength.packetIdentifier(id, .publish)
        }
        return length + self.payload.readableBytes
    }

    func writeBody(into buffer: inout ByteBuffer) {
        buffer.writeMQTTString(self.topic)
        if let packetId = self.packetId { buffer.writeInteger(packetId) }
        buffer.writeImmutableBuffer(self.payload)
    }

    static func decode(body: inout ByteBuffer, flags nibble: UInt8) throws(MQTTDecodeError) -> MQTTPublish {
        let flags = try Flags(decoding: nibble)
        let topic = try body.readMQTTString(.publish, .topicName)
        do {
            try TopicName.validate(topic)
        } catch {
            throw .invalidTopicName(.publish, topic, error)
        }
        let packetId = flags.qos == .atMostOnce ? nil : try body.readPacketIdentifier(.publish)
        // The payload is whatever the remaining length leaves; a slice, so the bytes are not copied.
        let payload = body.readSlice(length: body.readableBytes)!
        return MQTTPublish(
            topic: topic,
            payload: payload,
            qos: flags.qos,
            retain: flags.retain,
            dup: flags.dup,
            packetId: packetId
        )
    }
}

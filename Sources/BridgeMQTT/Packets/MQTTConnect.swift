import NIOCore

/// CONNECT: the first packet a client sends, opening a session (MQTT 3.1.1 §3.1).
///
/// Only protocol name `MQTT` at level 4 decodes; other versions throw
/// ``MQTTDecodeError/unsupportedProtocolVersion(name:level:)``, which the server answers with CONNACK 0x01.
///
/// - Note: A zero-length client identifier with `cleanSession == false` decodes; the server must answer it with
///   CONNACK ``MQTTConnAck/ReturnCode/identifierRejected`` (MQTT-3.1.3-8). That is a session decision, not framing.
public struct MQTTConnect: Sendable, Equatable {
    /// The protocol name MQTT 3.1.1 puts in every CONNECT.
    public static let protocolName = "MQTT"
    /// The protocol level of MQTT 3.1.1.
    public static let protocolLevel: UInt8 = 4

    /// The client's session key; may be empty, which asks the server to assign one (requires a clean session).
    public var clientIdentifier: String
    /// Discard any stored session and start a new one that ends with the connection.
    public var cleanSession: Bool
    /// Seconds the client may stay silent before the server drops it (×1.5); 0 disables the check.
    public var keepAlive: UInt16
    public var will: MQTTWill?
    public var username: String?
    /// Binary data in MQTT 3.1.1, not necessarily text.
    public var password: ByteBuffer?

    public init(
        clientIdentifier: String,
        cleanSession: Bool = true,
        keepAlive: UInt16 = 60,
        will: MQTTWill? = nil,
        username: String? = nil,
        password: ByteBuffer? = nil
    ) {
        self.clientIdentifier = clientIdentifier
        self.cleanSession = cleanSession
        self.keepAlive = keepAlive
        self.will = will
        self.username = username
        self.password = password
    }

    /// Bits of the connect flags byte (§3.1.2.3).
    enum Flags {
        static let reserved: UInt8 = 0x01
        static let cleanSession: UInt8 = 0x02
        static let will: UInt8 = 0x04
        static let willQoSShift: UInt8 = 3
        static let willQoSMask: UInt8 = 0x18
        static let willRetain: UInt8 = 0x20
        static let password: UInt8 = 0x40
        static let username: UInt8 = 0x80
    }
}

extension MQTTConnect: MQTTControlPacket {
    static var packetType: MQTTPacketType { .connect }

    private var connectFlags: UInt8 {
        var flags: UInt8 = 0
        if self.cleanSession { flags |= Flags.cleanSession }
        if let will = self.will {
            flags |= Flags.will | will.qos.rawValue << Flags.willQoSShift
            if will.retain { flags |= Flags.willRetain }
        }
        if self.username != nil { flags |= Flags.username }
        if self.password != nil { flags |= Flags.password }
        return flags
    }

    func encodedBodyLength() throws(MQTTEncodeError) -> Int {
        // The password flag may not be set without the user name flag (MQTT-3.1.2-22).
        if self.password != nil && self.username == nil { throw .passwordWithoutUsername }
        // Protocol name (2 + 4), level, flags, keep alive.
        var length = 6 + 1 + 1 + 2
        length += try MQTTFieldLength.string(self.clientIdentifier, .connect, .clientIdentifier)
        if let will = self.will {
            length += try MQTTFieldLength.topicName(will.topic, .connect)
            length += try MQTTFieldLength.binary(will.payload, .connect, .willPayload)
        }
        if let username = self.username {
            length += try MQTTFieldLength.string(username, .connect, .username)
        }
        if let password = self.password {
            length += try MQTTFieldLength.binary(password, .connect, .password)
        }
        return length
    }

    func writeBody(into buffer: inout ByteBuffer) {
        buffer.writeMQTTString(Self.protocolName)
        buffer.writeInteger(Self.protocolLevel)
        buffer.writeInteger(self.connectFlags)
        buffer.writeInteger(self.keepAlive)
        // Payload fields in the order MQTT-3.1.3-1 requires.
        buffer.writeMQTTString(self.clientIdentifier)
        if let will = self.will {
            buffer.writeMQTTString(will.topic)
            buffer.writeMQTTBinary(will.payload)
        }
        if let username = self.username { buffer.writeMQTTString(username) }
        if let password = self.password { buffer.writeMQTTBinary(password) }
    }

    static func decode(body: inout ByteBuffer, flags _: UInt8) throws(MQTTDecodeError) -> MQTTConnect {
        let name = try body.readMQTTString(.connect, .protocolName)
        let level = try body.readMQTTByte(.connect, .protocolLevel)
        guard name == Self.protocolName && level == Self.protocolLevel else {
            // "MQIsdp" is MQTT 3.1's name: a real client of another version, which deserves CONNACK 0x01 rather
            // than a silent close.
            if name == Self.protocolName || name == "MQIsdp" {
                throw .unsupportedProtocolVersion(name: name, level: level)
            }
            throw .invalidProtocolName(name)
        }

        let flags = try body.readMQTTByte(.connect, .connectFlags)
        guard flags & Flags.reserved == 0 else { throw .reservedConnectFlag }
        let hasWill = flags & Flags.will != 0
        let willQoSValue = (flags & Flags.willQoSMask) >> Flags.willQoSShift
        let willRetain = flags & Flags.willRetain != 0
        if !hasWill && (willQoSValue != 0 || willRetain) { throw .willFlagsWithoutWill(flags: flags) }
        guard let willQoS = MQTTQoS(rawValue: willQoSValue) else { throw .invalidQoS(.connect, value: willQoSValue) }
        let hasUsername = flags & Flags.username != 0
        let hasPassword = flags & Flags.password != 0
        if hasPassword && !hasUsername { throw .passwordWithoutUsername }

        let keepAlive = try body.readMQTTUInt16(.connect, .keepAlive)
        let clientIdentifier = try body.readMQTTString(.connect, .clientIdentifier)
        var will: MQTTWill?
        if hasWill {
            let topic = try body.readMQTTString(.connect, .willTopic)
            do {
                try TopicName.validate(topic)
            } catch {
                throw .invalidTopicName(.connect, topic, error)
            }
            let payload = try body.readMQTTBinary(.connect, .willPayload)
            will = MQTTWill(topic: topic, payload: payload, qos: willQoS, retain: willRetain)
        }
        let username = hasUsername ? try body.readMQTTString(.connect, .username) : nil
        let password = hasPassword ? try body.readMQTTBinary(.connect, .password) : nil
        return MQTTConnect(
            clientIdentifier: clientIdentifier,
            cleanSession: flags & Flags.cleanSession != 0,
            keepAlive: keepAlive,
            will: will,
            username: username,
            password: password
        )
    }
}

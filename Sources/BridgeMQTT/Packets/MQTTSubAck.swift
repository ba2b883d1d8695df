import NIOCore

/// SUBACK: the server's answer to SUBSCRIBE, one return code per requested filter (MQTT 3.1.1 §3.9).
public struct MQTTSubAck: Sendable, Equatable {
    /// The outcome of one subscription request (§3.9.3).
    public enum ReturnCode: Sendable, Hashable, CustomStringConvertible {
        /// Subscribed; messages are delivered at up to this QoS.
        case granted(MQTTQoS)
        /// The subscription was refused (0x80).
        case failure

        /// The byte on the wire.
        public var rawValue: UInt8 {
            switch self {
            case .granted(let qos): qos.rawValue
            case .failure: 0x80
            }
        }

        /// Reads a wire byte; `nil` for the reserved values (all but 0x00, 0x01, 0x02 and 0x80).
        public init?(rawValue: UInt8) {
            if rawValue == 0x80 {
                self = .failure
            } else if let qos = MQTTQoS(rawValue: rawValue) {
                self = .granted(qos)
            } else {
                return nil
            }
        }

        public var description: String {
            switch self {
            case .granted(let qos): "granted \(qos)"
            case .failure: "failure"
            }
        }
    }

    /// The SUBSCRIBE's identifier; never 0.
    public var packetId: UInt16
    /// In the order of the SUBSCRIBE's filters (MQTT-3.9.3-1); at least one.
    public var returnCodes: [ReturnCode]

    public init(packetId: UInt16, returnCodes: [ReturnCode]) {
        self.packetId = packetId
        self.returnCodes = returnCodes
    }
}

extension MQTTSubAck: MQTTControlPacket {
    static var packetType: MQTTPacketType { .subAck }

    func encodedBodyLength() throws(MQTTEncodeError) -> Int {
        let length = try MQTTFieldLength.packetIdentifier(self.packetId, .subAck)
        guard !self.returnCodes.isEmpty else { throw .emptyPayload(.subAck) }
        return length + self.returnCodes.count
    }

    func writeBody(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.packetId)
        for code in self.returnCodes {
            buffer.writeInteger(code.rawValue)
        }
    }

    static func decode(body: inout ByteBuffer, flags _: UInt8) throws(MQTTDecodeError) -> MQTTSubAck {
        let packetId = try body.readPacketIdentifier(.subAck)
        var returnCodes: [ReturnCode] = []
        returnCodes.reserveCapacity(body.readableBytes)
        while let byte = body.readInteger(as: UInt8.self) {
            guard let code = ReturnCode(rawValue: byte) else { throw .invalidSubAckReturnCode(byte) }
            returnCodes.append(code)
        }
        guard !returnCodes.isEmpty else { throw .emptyPayload(.subAck) }
        return MQTTSubAck(packetId: packetId, returnCodes: returnCodes)
    }
}

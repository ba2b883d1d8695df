import NIOCore

/// CONNACK: the server's answer to CONNECT (MQTT 3.1.1 §3.2).
public struct MQTTConnAck: Sendable, Equatable {
    /// The outcome of a connection attempt (§3.2.2.3, Table 3.1).
    public enum ReturnCode: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case accepted = 0
        /// The server does not support the protocol level the client asked for.
        case unacceptableProtocolVersion = 1
        /// The client identifier is valid UTF-8 but not allowed by the server.
        case identifierRejected = 2
        /// The network connection was made but the MQTT service is unavailable.
        case serverUnavailable = 3
        /// The user name or password is malformed.
        case badUsernameOrPassword = 4
        /// The client is not authorized to connect.
        case notAuthorized = 5

        public var description: String {
            switch self {
            case .accepted: "0 accepted"
            case .unacceptableProtocolVersion: "1 unacceptable protocol version"
            case .identifierRejected: "2 identifier rejected"
            case .serverUnavailable: "3 server unavailable"
            case .badUsernameOrPassword: "4 bad user name or password"
            case .notAuthorized: "5 not authorized"
            }
        }
    }

    /// Whether the server resumed a stored session; always `false` when the connection is refused.
    public var sessionPresent: Bool
    public var returnCode: ReturnCode

    public init(sessionPresent: Bool = false, returnCode: ReturnCode) {
        self.sessionPresent = sessionPresent
        self.returnCode = returnCode
    }
}

extension MQTTConnAck: MQTTControlPacket {
    static var packetType: MQTTPacketType { .connAck }

    func encodedBodyLength() throws(MQTTEncodeError) -> Int {
        if self.sessionPresent && self.returnCode != .accepted { throw .sessionPresentWithRefusal(self.returnCode) }
        return 2
    }

    func writeBody(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(self.sessionPresent ? 1 : 0))
        buffer.writeInteger(self.returnCode.rawValue)
    }

    static func decode(body: inout ByteBuffer, flags _: UInt8) throws(MQTTDecodeError) -> MQTTConnAck {
        let flags = try body.readMQTTByte(.connAck, .connAckFlags)
        guard flags & 0xFE == 0 else { throw .reservedConnAckFlags(flags) }
        let value = try body.readMQTTByte(.connAck, .returnCode)
        guard let returnCode = ReturnCode(rawValue: value) else { throw .unknownConnAckReturnCode(value) }
        let sessionPresent = flags == 1
        if sessionPresent && returnCode != .accepted { throw .sessionPresentWithRefusal(returnCode) }
        return MQTTConnAck(sessionPresent: sessionPresent, returnCode: returnCode)
    }
}

/// SUBACK (0x21, ESP to host): the broker's answer to a subscription (§5.10).
public struct LinkSubAck: Hashable, Sendable {
    /// The broker's SUBACK return code (MQTT 3.1.1 §3.9.3).
    public enum Granted: UInt8, Hashable, Sendable, CaseIterable {
        /// `0`: granted at qos 0.
        case qos0 = 0
        /// `1`: granted at qos 1.
        case qos1 = 1
        /// `2`: granted at qos 2 (the ESP asks for at most 1, so a broker should not grant this).
        case qos2 = 2
        /// `0x80`: the broker refused the subscription.
        case failure = 0x80
    }

    /// The return code.
    public var granted: Granted
    /// The filter answered.
    public var filter: String

    /// A SUBACK.
    public init(granted: Granted, filter: String) {
        self.granted = granted
        self.filter = filter
    }
}

extension LinkSubAck: LinkPayloadCodable {
    static var messageType: LinkMessageType { .subAck }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let raw = try reader.readU8("granted")
        guard let granted = Granted(rawValue: raw) else {
            throw reader.malformed("granted \(raw) is not 0, 1, 2 or 0x80")
        }
        self.init(granted: granted, filter: try reader.readStr16("filter"))
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU8(self.granted.rawValue)
        try writer.writeStr16(self.filter, field: "filter")
    }
}

/// SUBSCRIBE (0x11, host to ESP): add a filter to the ESP's subscription set (§5.7).
///
/// Each broker SUBACK for it comes back as a ``LinkSubAck``.
public struct LinkSubscribe: Hashable, Sendable {
    /// The maximum qos wanted.
    public var qos: LinkQoS
    /// The MQTT topic filter; wildcards allowed.
    public var filter: String

    /// A SUBSCRIBE.
    public init(qos: LinkQoS, filter: String) {
        self.qos = qos
        self.filter = filter
    }
}

extension LinkSubscribe: LinkPayloadCodable {
    static var messageType: LinkMessageType { .subscribe }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let raw = try reader.readU8("qos")
        guard let qos = LinkQoS(rawValue: raw) else {
            throw reader.malformed("qos \(raw) is not 0 or 1")
        }
        self.init(qos: qos, filter: try reader.readStr16("filter"))
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU8(self.qos.rawValue)
        try writer.writeStr16(self.filter, field: "filter")
    }
}

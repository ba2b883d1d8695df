/// UNSUBSCRIBE (0x12, host to ESP): drop a filter from the ESP's subscription set (§5.8). No answer.
public struct LinkUnsubscribe: Hashable, Sendable {
    /// A filter previously subscribed.
    public var filter: String

    /// An UNSUBSCRIBE.
    public init(filter: String) {
        self.filter = filter
    }
}

extension LinkUnsubscribe: LinkPayloadCodable {
    static var messageType: LinkMessageType { .unsubscribe }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        self.init(filter: try reader.readStr16("filter"))
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        try writer.writeStr16(self.filter, field: "filter")
    }
}

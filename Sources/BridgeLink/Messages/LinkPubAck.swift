/// PUBACK (0x20, ESP to host): the outcome of a PUBLISH (§5.9).
public struct LinkPubAck: Hashable, Sendable {
    /// What became of the publish, and so what the host does next.
    public enum Result: UInt8, Hashable, Sendable, CaseIterable {
        /// `0`: the broker acknowledged the qos 1 message; it is delivered.
        case delivered = 0
        /// `1`: not connected to the broker, not sent; send it again after BROKER `connected`.
        case offline = 1
        /// `2`: invalid or too large, never to be sent; tell the publisher, do not retry.
        case rejected = 2
        /// `3`: `max_inflight` qos 1 messages are held already; send it again after the next PUBACK.
        case busy = 3
    }

    /// The PUBLISH answered; `0` for a qos 0 publish, which the host cannot tell apart.
    public var messageID: UInt16
    /// The outcome.
    public var result: Result

    /// A PUBACK.
    public init(messageID: UInt16, result: Result) {
        self.messageID = messageID
        self.result = result
    }
}

extension LinkPubAck: LinkPayloadCodable {
    static var messageType: LinkMessageType { .pubAck }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let messageID = try reader.readU16("message_id")
        let raw = try reader.readU8("result")
        guard let result = Result(rawValue: raw) else {
            throw reader.malformed("result \(raw) is not one of 0–3")
        }
        self.init(messageID: messageID, result: result)
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU16(self.messageID)
        writer.writeU8(self.result.rawValue)
    }
}

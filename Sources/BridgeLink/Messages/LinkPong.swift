import NIOCore

/// PONG (0x06, both directions): the answer to a ``LinkPing``, with its token (§5.5).
public struct LinkPong: Hashable, Sendable {
    /// The token of the PING answered.
    public var token: ByteBuffer

    /// A PONG.
    public init(token: ByteBuffer = ByteBuffer()) {
        self.token = token
    }
}

extension LinkPong: LinkPayloadCodable {
    static var messageType: LinkMessageType { .pong }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        self.init(token: reader.readRest())
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeRest(self.token)
    }
}

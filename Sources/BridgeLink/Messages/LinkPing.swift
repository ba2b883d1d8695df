import NIOCore

/// PING (0x05, both directions): a liveness probe, answered at once with a ``LinkPong`` carrying the
/// same token (§5.5).
public struct LinkPing: Hashable, Sendable {
    /// Opaque bytes the sender chooses, e.g. a send time for measuring the round trip.
    public var token: ByteBuffer

    /// A PING.
    public init(token: ByteBuffer = ByteBuffer()) {
        self.token = token
    }

    /// The PONG that answers this PING.
    public var pong: LinkPong {
        LinkPong(token: self.token)
    }
}

extension LinkPing: LinkPayloadCodable {
    static var messageType: LinkMessageType { .ping }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        self.init(token: reader.readRest())
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeRest(self.token)
    }
}

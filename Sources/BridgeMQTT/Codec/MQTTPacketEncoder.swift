import NIOCore

/// Writes ``MQTTPacket``s to a byte stream: a `MessageToByteHandler` encoder for a channel pipeline.
public struct MQTTPacketEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = MQTTPacket

    public init() {}

    /// - Throws: ``MQTTEncodeError`` if the packet would be malformed; nothing is written then.
    public func encode(data: MQTTPacket, out: inout ByteBuffer) throws {
        try data.write(into: &out)
    }
}

import NIOCore

/// One accepted qos 1 or 2 publish in the spool, waiting for the broker's acknowledgement.
public struct SpoolRecord: Sendable, Equatable {
    /// Acceptance order across all publishers, so delivery in this order keeps each publisher's order.
    public let sequence: UInt64
    /// The local client that published it, for logs and inspection.
    public let clientID: String
    public let topic: String
    public let payload: ByteBuffer
    /// The qos the client published with (1 or 2); upstream it crosses the link as qos 1.
    public let qos: UInt8
    public let retain: Bool

    public init(sequence: UInt64, clientID: String, topic: String, payload: ByteBuffer, qos: UInt8, retain: Bool) {
        self.sequence = sequence
        self.clientID = clientID
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }

    /// What counts against the spool's size bound: topic and payload bytes.
    public var size: Int { topic.utf8.count + payload.readableBytes }
}

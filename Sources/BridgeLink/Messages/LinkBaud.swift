import NIOCore

/// BAUD (0x14, host to ESP, version 2): switch the line to `rate` (§8.8).
///
/// The ESP acknowledges it at the old rate and then switches; the host switches when that
/// acknowledgement arrives and confirms the new rate with PING.
public struct LinkBaud: Hashable, Sendable {
    /// The new line rate in baud.
    public var rate: UInt32

    /// A BAUD.
    public init(rate: UInt32) {
        self.rate = rate
    }
}

extension LinkBaud: LinkPayloadCodable {
    static var messageType: LinkMessageType { .baud }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        self.init(rate: try reader.readU32("rate"))
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU32(self.rate)
    }
}

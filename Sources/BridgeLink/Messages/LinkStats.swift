/// STATS (0x26, ESP to host): heap, uptime and clock, every 10 seconds once configured (§5.15).
public struct LinkStats: Hashable, Sendable {
    /// Free heap in bytes.
    public var freeHeap: UInt32
    /// Seconds since the firmware started.
    public var uptime: UInt32
    /// Unix time from NTP; `0` when not known.
    public var time: UInt32

    /// A STATS report.
    public init(freeHeap: UInt32, uptime: UInt32, time: UInt32 = 0) {
        self.freeHeap = freeHeap
        self.uptime = uptime
        self.time = time
    }
}

extension LinkStats: LinkPayloadCodable {
    static var messageType: LinkMessageType { .stats }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        self.init(
            freeHeap: try reader.readU32("free_heap"),
            uptime: try reader.readU32("uptime"),
            time: try reader.readU32("time")
        )
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU32(self.freeHeap)
        writer.writeU32(self.uptime)
        writer.writeU32(self.time)
    }
}

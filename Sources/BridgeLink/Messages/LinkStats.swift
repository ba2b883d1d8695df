/// STATS (0x26, ESP to host): heap, uptime and the ESP's clock, every 10 seconds once configured and right
/// after each NTP attempt (§5.15).
public struct LinkStats: Hashable, Sendable {
    /// How the firmware's last NTP attempt ended (`sync_result`).
    ///
    /// Open-ended so that a STATS with an outcome from a later revision is still read.
    public enum SyncResult: Hashable, Sendable, CustomStringConvertible {
        /// `0`: no attempt yet (or no NTP server configured).
        case none
        /// `1`: the clock was set from the server's answer.
        case synced
        /// `2`: the server's name could not be looked up.
        case dnsFailed
        /// `3`: the server did not answer in time.
        case noAnswer
        /// `4`: the server answered with nothing to set the clock from (not synchronised, a kiss of death).
        case badAnswer
        /// `5`: the request could not be sent.
        case networkError
        /// An outcome the spec does not list. `init(rawValue:)` never produces it for a listed value.
        case other(UInt8)

        /// The outcome for a `sync_result` byte.
        public init(rawValue: UInt8) {
            switch rawValue {
            case 0: self = .none
            case 1: self = .synced
            case 2: self = .dnsFailed
            case 3: self = .noAnswer
            case 4: self = .badAnswer
            case 5: self = .networkError
            default: self = .other(rawValue)
            }
        }

        /// The `sync_result` byte.
        public var rawValue: UInt8 {
            switch self {
            case .none: return 0
            case .synced: return 1
            case .dnsFailed: return 2
            case .noAnswer: return 3
            case .badAnswer: return 4
            case .networkError: return 5
            case .other(let value): return value
            }
        }

        /// Whether the attempt failed.
        public var isFailure: Bool {
            switch self {
            case .none, .synced: return false
            default: return true
            }
        }

        public var description: String {
            switch self {
            case .none: return "no attempt yet"
            case .synced: return "synced"
            case .dnsFailed: return "DNS lookup failed"
            case .noAnswer: return "no answer"
            case .badAnswer: return "unusable answer (server not synchronised or refusing)"
            case .networkError: return "network error"
            case .other(let value): return "outcome \(value)"
            }
        }
    }

    /// The clock's fields after `time` (§5.15), sent by a firmware with the NTP capability.
    public struct Clock: Hashable, Sendable {
        /// Milliseconds to add to `time`, 0–999.
        public var milliseconds: UInt16
        /// The ESP's Unix time when it last set its clock from the server; `0` when it has not since it
        /// started.
        public var lastSync: UInt32
        /// Failed attempts since the firmware started.
        public var syncFailures: UInt32
        /// How the last attempt ended.
        public var syncResult: SyncResult

        /// The clock's fields.
        public init(milliseconds: UInt16, lastSync: UInt32 = 0, syncFailures: UInt32 = 0, syncResult: SyncResult) {
            self.milliseconds = milliseconds
            self.lastSync = lastSync
            self.syncFailures = syncFailures
            self.syncResult = syncResult
        }
    }

    /// Free heap in bytes.
    public var freeHeap: UInt32
    /// Seconds since the firmware started.
    public var uptime: UInt32
    /// The ESP's Unix time when it made the message, from NTP; `0` when it has none.
    public var time: UInt32
    /// The clock's fields; `nil` from a firmware that does not send them.
    public var clock: Clock?

    /// A STATS report.
    public init(freeHeap: UInt32, uptime: UInt32, time: UInt32 = 0, clock: Clock? = nil) {
        self.freeHeap = freeHeap
        self.uptime = uptime
        self.time = time
        self.clock = clock
    }

    /// The ESP's Unix time in milliseconds when it made the message; `nil` when it has none.
    public var unixMilliseconds: Int64? {
        guard time != 0 else { return nil }
        return Int64(time) * 1000 + Int64(clock?.milliseconds ?? 0)
    }
}

extension LinkStats: LinkPayloadCodable {
    static var messageType: LinkMessageType { .stats }

    /// The size of the clock's fields.
    private static let clockSize = 11

    /// The clock's fields are read when all of them are there: a firmware without NTP ends the payload
    /// after `time`, and fewer bytes than the fields take are ignored, as any bytes after the last field
    /// known (§4).
    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        self.init(
            freeHeap: try reader.readU32("free_heap"),
            uptime: try reader.readU32("uptime"),
            time: try reader.readU32("time")
        )
        guard reader.remaining >= Self.clockSize else { return }
        let milliseconds = try reader.readU16("time_ms")
        guard milliseconds < 1000 else {
            throw reader.malformed("time_ms must be below 1000, got \(milliseconds)")
        }
        self.clock = Clock(
            milliseconds: milliseconds,
            lastSync: try reader.readU32("last_sync"),
            syncFailures: try reader.readU32("sync_failures"),
            syncResult: SyncResult(rawValue: try reader.readU8("sync_result"))
        )
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU32(self.freeHeap)
        writer.writeU32(self.uptime)
        writer.writeU32(self.time)
        guard let clock else { return }
        writer.writeU16(clock.milliseconds)
        writer.writeU32(clock.lastSync)
        writer.writeU32(clock.syncFailures)
        writer.writeU8(clock.syncResult.rawValue)
    }
}

import NIOCore

/// HELLO (0x01, both directions): announces version, sizes and identity (§5.1).
///
/// The ESP sends it after boot and every second until a CONFIG is accepted; the host answers with
/// its own. A host sends `0` for the ESP-only fields, which is what the defaults give.
public struct LinkHello: Hashable, Sendable {
    /// Optional features of the firmware (§5.1). Unknown bits are kept as received.
    public struct Capabilities: OptionSet, Hashable, Sendable {
        /// The `capabilities` field.
        public var rawValue: UInt16

        /// Capabilities from the `capabilities` field, unknown bits included.
        public init(rawValue: UInt16) {
            self.rawValue = rawValue
        }

        /// Bit 0: the firmware can connect to the broker over TLS.
        public static let tls = Capabilities(rawValue: 1 << 0)
        /// Bit 1: the firmware can set its clock by NTP.
        public static let ntp = Capabilities(rawValue: 1 << 1)
    }

    /// Why the ESP last started: the ESP8266 SDK's `rst_info.reason` (§5.1).
    ///
    /// Open-ended because the value comes from the SDK, not from us: a reason this table does not
    /// know must not make the whole HELLO unreadable.
    public enum ResetReason: Hashable, Sendable, CustomStringConvertible {
        /// `0`: power-on.
        case powerOn
        /// `1`: the hardware watchdog fired.
        case hardwareWatchdog
        /// `2`: a fatal exception.
        case exception
        /// `3`: the software watchdog fired.
        case softwareWatchdog
        /// `4`: a software restart (`machine.reset()`).
        case softwareRestart
        /// `5`: woke from deep sleep.
        case deepSleepWake
        /// `6`: external reset, the RESET line.
        case externalReset
        /// `255`: the firmware could not tell.
        case unknown
        /// A value the spec does not list. `init(rawValue:)` never produces it for a listed value.
        case other(UInt8)

        /// The reason for a `reset_reason` byte.
        public init(rawValue: UInt8) {
            switch rawValue {
            case 0: self = .powerOn
            case 1: self = .hardwareWatchdog
            case 2: self = .exception
            case 3: self = .softwareWatchdog
            case 4: self = .softwareRestart
            case 5: self = .deepSleepWake
            case 6: self = .externalReset
            case 255: self = .unknown
            default: self = .other(rawValue)
            }
        }

        /// The `reset_reason` byte.
        public var rawValue: UInt8 {
            switch self {
            case .powerOn: return 0
            case .hardwareWatchdog: return 1
            case .exception: return 2
            case .softwareWatchdog: return 3
            case .softwareRestart: return 4
            case .deepSleepWake: return 5
            case .externalReset: return 6
            case .unknown: return 255
            case .other(let value): return value
            }
        }

        public var description: String {
            switch self {
            case .powerOn: return "power-on"
            case .hardwareWatchdog: return "hardware watchdog"
            case .exception: return "exception"
            case .softwareWatchdog: return "software watchdog"
            case .softwareRestart: return "software restart"
            case .deepSleepWake: return "wake from deep sleep"
            case .externalReset: return "external reset"
            case .unknown: return "unknown"
            case .other(let value): return "reset reason \(value)"
            }
        }
    }

    /// The protocol version the sender speaks; this module speaks ``LinkProtocol/version``.
    public var version: UInt8
    /// The largest body (header, payload, CRC) the sender accepts; at least 512.
    public var maximumBodySize: UInt16
    /// Frames the sender can buffer (§8); `1` in this revision.
    public var window: UInt8
    /// qos 1 publishes the ESP can hold awaiting the broker (§5.9); `0` from the host.
    public var maximumInFlight: UInt8
    /// The firmware's optional features; empty from the host.
    public var capabilities: Capabilities
    /// Boots since power-on or flashing; `0` from the host.
    public var bootCount: UInt32
    /// Why the ESP last started; ``ResetReason/powerOn`` (`0`) from the host.
    public var resetReason: ResetReason
    /// Name and version of the firmware or daemon, e.g. `mqttbridge-fw 0.1.0`.
    public var software: String
    /// Free heap in bytes when sent; `0` from the host.
    public var freeHeap: UInt32
    /// Topic ids the sender accepts from the peer (§8.7, §8.9); `0` for none.
    public var maximumTopics: UInt8
    /// The highest line rate the sender can switch to (§8.8, §8.9); `0` for none.
    public var maximumBaudRate: UInt32

    /// A HELLO; the defaults are what the host sends for the ESP-only fields.
    public init(
        version: UInt8 = LinkProtocol.version,
        maximumBodySize: UInt16,
        window: UInt8 = 1,
        maximumInFlight: UInt8 = 0,
        capabilities: Capabilities = [],
        bootCount: UInt32 = 0,
        resetReason: ResetReason = .powerOn,
        software: String,
        freeHeap: UInt32 = 0,
        maximumTopics: UInt8 = 0,
        maximumBaudRate: UInt32 = 0
    ) {
        self.version = version
        self.maximumBodySize = maximumBodySize
        self.window = window
        self.maximumInFlight = maximumInFlight
        self.capabilities = capabilities
        self.bootCount = bootCount
        self.resetReason = resetReason
        self.software = software
        self.freeHeap = freeHeap
        self.maximumTopics = maximumTopics
        self.maximumBaudRate = maximumBaudRate
    }
}

extension LinkHello: LinkPayloadCodable {
    static var messageType: LinkMessageType { .hello }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        // The version comes first and is checked before anything else: another version may lay out
        // the rest differently, and the peer must hear ERROR `version`, not `malformed` (§7).
        let version = try reader.readU8("version")
        guard version == LinkProtocol.version else {
            throw .unsupportedVersion(version)
        }
        let maximumBodySize = try reader.readU16("max_body")
        guard maximumBodySize >= LinkProtocol.minimumMaximumBodySize else {
            throw reader.malformed(
                "max_body \(maximumBodySize) is below the minimum \(LinkProtocol.minimumMaximumBodySize)"
            )
        }
        self.init(
            version: version,
            maximumBodySize: maximumBodySize,
            window: try reader.readU8("window"),
            maximumInFlight: try reader.readU8("max_inflight"),
            capabilities: Capabilities(rawValue: try reader.readU16("capabilities")),
            bootCount: try reader.readU32("boot_count"),
            resetReason: ResetReason(rawValue: try reader.readU8("reset_reason")),
            software: try reader.readStr8("software"),
            freeHeap: try reader.readU32("free_heap"),
            maximumTopics: try reader.readU8("max_topics"),
            maximumBaudRate: try reader.readU32("max_baud")
        )
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU8(self.version)
        writer.writeU16(self.maximumBodySize)
        writer.writeU8(self.window)
        writer.writeU8(self.maximumInFlight)
        writer.writeU16(self.capabilities.rawValue)
        writer.writeU32(self.bootCount)
        writer.writeU8(self.resetReason.rawValue)
        try writer.writeStr8(self.software, field: "software")
        writer.writeU32(self.freeHeap)
        writer.writeU8(self.maximumTopics)
        writer.writeU32(self.maximumBaudRate)
    }
}

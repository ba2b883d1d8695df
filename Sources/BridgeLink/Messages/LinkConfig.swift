import NIOCore

/// CONFIG (0x02, host to ESP): the ESP's whole configuration (§5.2).
///
/// On the wire a sequence of `key:u8 | length:u16 | value` items. Every property is optional and only
/// the present ones are encoded; an absent one takes the firmware's default (listed on each
/// property). The codec does not enforce which keys are required or the value ranges of the table:
/// the ESP judges those and answers with ``LinkConfigAck``.
public struct LinkConfig: Hashable, Sendable {
    /// The item keys of §5.2.
    public enum Key: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// Key 1, `wifi_ssid`.
        case wifiSSID = 1
        /// Key 2, `wifi_password`.
        case wifiPassword = 2
        /// Key 3, `broker_host`.
        case brokerHost = 3
        /// Key 4, `broker_port`.
        case brokerPort = 4
        /// Key 5, `client_id`.
        case clientID = 5
        /// Key 6, `username`.
        case username = 6
        /// Key 7, `password`.
        case password = 7
        /// Key 8, `keepalive`.
        case keepAlive = 8
        /// Key 9, `clean_session`.
        case cleanSession = 9
        /// Key 10, `will_topic`.
        case willTopic = 10
        /// Key 11, `will_payload`.
        case willPayload = 11
        /// Key 12, `will_qos`.
        case willQoS = 12
        /// Key 13, `will_retain`.
        case willRetain = 13
        /// Key 14, `tls`.
        case tls = 14
        /// Key 15, `ntp_server`.
        case ntpServer = 15
        /// Key 16, `ntp_port`.
        case ntpPort = 16

        /// The spec's name for the key, e.g. `wifi_ssid`, as CONFIG_ACK details use it.
        public var name: String {
            switch self {
            case .wifiSSID: return "wifi_ssid"
            case .wifiPassword: return "wifi_password"
            case .brokerHost: return "broker_host"
            case .brokerPort: return "broker_port"
            case .clientID: return "client_id"
            case .username: return "username"
            case .password: return "password"
            case .keepAlive: return "keepalive"
            case .cleanSession: return "clean_session"
            case .willTopic: return "will_topic"
            case .willPayload: return "will_payload"
            case .willQoS: return "will_qos"
            case .willRetain: return "will_retain"
            case .tls: return "tls"
            case .ntpServer: return "ntp_server"
            case .ntpPort: return "ntp_port"
            }
        }

        public var description: String { "key \(self.rawValue) (\(self.name))" }
    }

    /// Key 1, required: the WiFi network name, 1–32 bytes of UTF-8.
    public var wifiSSID: String?
    /// Key 2: the WiFi password, 0–64 bytes; absent means `""`, an open network.
    public var wifiPassword: String?
    /// Key 3, required: the broker's host name or address.
    public var brokerHost: String?
    /// Key 4: the broker's port; absent means 1883.
    public var brokerPort: UInt16?
    /// Key 5, required: the MQTT client id, 1–23 bytes recommended.
    public var clientID: String?
    /// Key 6: the MQTT user name; absent means none.
    public var username: String?
    /// Key 7: the MQTT password, arbitrary bytes; absent means none.
    public var password: ByteBuffer?
    /// Key 8: the MQTT keepalive in seconds, `0` disables; absent means 60.
    public var keepAlive: UInt16?
    /// Key 9: the MQTT clean-session flag; absent means `true`.
    public var cleanSession: Bool?
    /// Key 10: the will's topic; absent means no will.
    public var willTopic: String?
    /// Key 11: the will's payload; absent means empty.
    public var willPayload: ByteBuffer?
    /// Key 12: the will's qos; absent means 0.
    public var willQoS: LinkQoS?
    /// Key 13: the will's retain flag; absent means `false`.
    public var willRetain: Bool?
    /// Key 14: connect to the broker over TLS; absent means `false`.
    public var tls: Bool?
    /// Key 15: the NTP server's host name or IPv4 address; absent or empty means no NTP.
    public var ntpServer: String?
    /// Key 16: the NTP server's UDP port; absent means 123.
    public var ntpPort: UInt16?

    /// A configuration with the given items; absent ones are not sent.
    public init(
        wifiSSID: String? = nil,
        wifiPassword: String? = nil,
        brokerHost: String? = nil,
        brokerPort: UInt16? = nil,
        clientID: String? = nil,
        username: String? = nil,
        password: ByteBuffer? = nil,
        keepAlive: UInt16? = nil,
        cleanSession: Bool? = nil,
        willTopic: String? = nil,
        willPayload: ByteBuffer? = nil,
        willQoS: LinkQoS? = nil,
        willRetain: Bool? = nil,
        tls: Bool? = nil,
        ntpServer: String? = nil,
        ntpPort: UInt16? = nil
    ) {
        self.wifiSSID = wifiSSID
        self.wifiPassword = wifiPassword
        self.brokerHost = brokerHost
        self.brokerPort = brokerPort
        self.clientID = clientID
        self.username = username
        self.password = password
        self.keepAlive = keepAlive
        self.cleanSession = cleanSession
        self.willTopic = willTopic
        self.willPayload = willPayload
        self.willQoS = willQoS
        self.willRetain = willRetain
        self.tls = tls
        self.ntpServer = ntpServer
        self.ntpPort = ntpPort
    }

    /// The keys §5.2 requires (`wifi_ssid`, `broker_host`, `client_id`) that this configuration
    /// lacks. The ESP refuses a CONFIG without them (CONFIG_ACK `1`), so the host can check first.
    public var missingRequiredKeys: [Key] {
        var missing: [Key] = []
        if self.wifiSSID == nil { missing.append(.wifiSSID) }
        if self.brokerHost == nil { missing.append(.brokerHost) }
        if self.clientID == nil { missing.append(.clientID) }
        return missing
    }
}

extension LinkConfig: LinkPayloadCodable {
    static var messageType: LinkMessageType { .config }

    /// Reads items to the end of the payload. Unknown keys are skipped and a repeated key overwrites
    /// the earlier one (§5.2). An item cut short, or a value of the wrong size or out of range, is
    /// malformed.
    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        self.init()
        while reader.remaining > 0 {
            let rawKey = try reader.readU8("item key")
            let length = Int(try reader.readU16("length of item \(rawKey)"))
            let bytes = try reader.readBytes("value of item \(rawKey)", length: length)
            var value = LinkPayloadReader(payload: bytes, type: .config)
            guard let key = Key(rawValue: rawKey) else {
                continue  // A later revision's key: ignored, as §5.2 requires.
            }
            try self.read(key, from: &value)
        }
    }

    private mutating func read(_ key: Key, from value: inout LinkPayloadReader) throws(LinkMessageError) {
        switch key {
        case .wifiSSID: self.wifiSSID = value.readRestString()
        case .wifiPassword: self.wifiPassword = value.readRestString()
        case .brokerHost: self.brokerHost = value.readRestString()
        case .brokerPort: self.brokerPort = try Self.readU16(key, from: &value)
        case .clientID: self.clientID = value.readRestString()
        case .username: self.username = value.readRestString()
        case .password: self.password = value.readRest()
        case .keepAlive: self.keepAlive = try Self.readU16(key, from: &value)
        case .cleanSession: self.cleanSession = try Self.readBool(key, from: &value)
        case .willTopic: self.willTopic = value.readRestString()
        case .willPayload: self.willPayload = value.readRest()
        case .willQoS:
            let raw = try Self.readU8(key, from: &value)
            guard let qos = LinkQoS(rawValue: raw) else {
                throw value.malformed("\(key) must be 0 or 1, got \(raw)")
            }
            self.willQoS = qos
        case .willRetain: self.willRetain = try Self.readBool(key, from: &value)
        case .tls: self.tls = try Self.readBool(key, from: &value)
        case .ntpServer: self.ntpServer = value.readRestString()
        case .ntpPort: self.ntpPort = try Self.readU16(key, from: &value)
        }
    }

    /// Numeric values must have exactly their size: a longer value is not a later revision's
    /// extension (those get new keys) but a broken sender.
    private static func checkSize(_ key: Key, _ value: LinkPayloadReader, _ size: Int) throws(LinkMessageError) {
        guard value.remaining == size else {
            throw value.malformed("\(key) must be \(size) byte\(size == 1 ? "" : "s"), got \(value.remaining)")
        }
    }

    private static func readU8(_ key: Key, from value: inout LinkPayloadReader) throws(LinkMessageError) -> UInt8 {
        try Self.checkSize(key, value, 1)
        return try value.readU8(key.description)
    }

    private static func readU16(_ key: Key, from value: inout LinkPayloadReader) throws(LinkMessageError) -> UInt16 {
        try Self.checkSize(key, value, 2)
        return try value.readU16(key.description)
    }

    private static func readBool(_ key: Key, from value: inout LinkPayloadReader) throws(LinkMessageError) -> Bool {
        try Self.checkSize(key, value, 1)
        return try value.readBool(key.description)
    }

    /// Writes the present items in key order.
    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        if let wifiSSID { try writer.writeItem(.wifiSSID, wifiSSID.utf8) }
        if let wifiPassword { try writer.writeItem(.wifiPassword, wifiPassword.utf8) }
        if let brokerHost { try writer.writeItem(.brokerHost, brokerHost.utf8) }
        if let brokerPort { try writer.writeItem(.brokerPort, Self.bigEndianBytes(brokerPort)) }
        if let clientID { try writer.writeItem(.clientID, clientID.utf8) }
        if let username { try writer.writeItem(.username, username.utf8) }
        if let password { try writer.writeItem(.password, password.readableBytesView) }
        if let keepAlive { try writer.writeItem(.keepAlive, Self.bigEndianBytes(keepAlive)) }
        if let cleanSession { try writer.writeItem(.cleanSession, [cleanSession ? 1 : 0]) }
        if let willTopic { try writer.writeItem(.willTopic, willTopic.utf8) }
        if let willPayload { try writer.writeItem(.willPayload, willPayload.readableBytesView) }
        if let willQoS { try writer.writeItem(.willQoS, [willQoS.rawValue]) }
        if let willRetain { try writer.writeItem(.willRetain, [willRetain ? 1 : 0]) }
        if let tls { try writer.writeItem(.tls, [tls ? 1 : 0]) }
        if let ntpServer { try writer.writeItem(.ntpServer, ntpServer.utf8) }
        if let ntpPort { try writer.writeItem(.ntpPort, Self.bigEndianBytes(ntpPort)) }
    }

    private static func bigEndianBytes(_ value: UInt16) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}

extension LinkPayloadWriter {
    /// One CONFIG item: `key:u8 | length:u16 | value`.
    fileprivate mutating func writeItem(
        _ key: LinkConfig.Key,
        _ value: some Collection<UInt8>
    ) throws(LinkMessageEncodingError) {
        let length = try self.checkLength(value.count, maximum: Int(UInt16.max), field: key.name)
        self.writeU8(key.rawValue)
        self.writeU16(UInt16(length))
        self.buffer.writeBytes(value)
    }
}

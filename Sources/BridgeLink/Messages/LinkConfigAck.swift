/// CONFIG_ACK (0x03, ESP to host): the configuration was accepted or refused (§5.3).
public struct LinkConfigAck: Hashable, Sendable {
    /// The ESP's verdict on a CONFIG.
    public enum Result: UInt8, Hashable, Sendable, CaseIterable {
        /// `0`: accepted; the ESP brings up WiFi and the broker connection with it.
        case accepted = 0
        /// `1`: a required key is missing.
        case missingKey = 1
        /// `2`: a value is invalid.
        case invalidValue = 2
        /// `3`: asks for a feature the firmware lacks, e.g. `tls` without the TLS capability.
        case unsupportedFeature = 3
    }

    /// The verdict.
    public var result: Result
    /// Text for the host's log, e.g. `key 1 (wifi_ssid) is missing`.
    public var detail: String

    /// A CONFIG_ACK.
    public init(result: Result, detail: String = "") {
        self.result = result
        self.detail = detail
    }
}

extension LinkConfigAck: LinkPayloadCodable {
    static var messageType: LinkMessageType { .configAck }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let raw = try reader.readU8("result")
        guard let result = Result(rawValue: raw) else {
            throw reader.malformed("result \(raw) is not one of 0–3")
        }
        self.init(result: result, detail: try reader.readStr8("detail"))
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU8(self.result.rawValue)
        try writer.writeStr8(self.detail, field: "detail")
    }
}

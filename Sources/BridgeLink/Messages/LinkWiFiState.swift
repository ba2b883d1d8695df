/// WIFI (0x23, ESP to host): the ESP's WiFi state, sent on every change (§5.12).
public struct LinkWiFiState: Hashable, Sendable {
    /// The connection state.
    public enum State: UInt8, Hashable, Sendable, CaseIterable {
        /// `0`: down.
        case down = 0
        /// `1`: connecting.
        case connecting = 1
        /// `2`: up.
        case up = 2
    }

    /// The connection state.
    public var state: State
    /// The signal in dBm when up; `0` when unknown.
    public var rssi: Int8
    /// The ESP's IP address when up, else empty.
    public var address: String
    /// Why it is down or failed (e.g. `wrong password`), else empty.
    public var reason: String

    /// A WIFI state report.
    public init(state: State, rssi: Int8 = 0, address: String = "", reason: String = "") {
        self.state = state
        self.rssi = rssi
        self.address = address
        self.reason = reason
    }
}

extension LinkWiFiState: LinkPayloadCodable {
    static var messageType: LinkMessageType { .wifi }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let raw = try reader.readU8("state")
        guard let state = State(rawValue: raw) else {
            throw reader.malformed("state \(raw) is not one of 0–2")
        }
        self.init(
            state: state,
            rssi: try reader.readI8("rssi"),
            address: try reader.readStr8("address"),
            reason: try reader.readStr8("reason")
        )
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU8(self.state.rawValue)
        writer.writeI8(self.rssi)
        try writer.writeStr8(self.address, field: "address")
        try writer.writeStr8(self.reason, field: "reason")
    }
}

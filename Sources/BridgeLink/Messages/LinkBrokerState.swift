/// BROKER (0x24, ESP to host): the broker connection's state, sent on every change (§5.13).
public struct LinkBrokerState: Hashable, Sendable {
    /// The connection state.
    public enum State: UInt8, Hashable, Sendable, CaseIterable {
        /// `0`: not connected; the ESP retries with back-off while configured.
        case disconnected = 0
        /// `1`: connecting.
        case connecting = 1
        /// `2`: connected.
        case connected = 2
    }

    /// The connection state.
    public var state: State
    /// The CONNACK return code when the broker refused, else `0`.
    public var returnCode: UInt8
    /// The CONNACK session-present flag when connected, else `false`.
    public var sessionPresent: Bool
    /// Why it is disconnected (e.g. `keepalive timeout`), else empty.
    public var reason: String

    /// A BROKER state report.
    public init(state: State, returnCode: UInt8 = 0, sessionPresent: Bool = false, reason: String = "") {
        self.state = state
        self.returnCode = returnCode
        self.sessionPresent = sessionPresent
        self.reason = reason
    }
}

extension LinkBrokerState: LinkPayloadCodable {
    static var messageType: LinkMessageType { .broker }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let raw = try reader.readU8("state")
        guard let state = State(rawValue: raw) else {
            throw reader.malformed("state \(raw) is not one of 0–2")
        }
        self.init(
            state: state,
            returnCode: try reader.readU8("return_code"),
            sessionPresent: try reader.readBool("session_present"),
            reason: try reader.readStr8("reason")
        )
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU8(self.state.rawValue)
        writer.writeU8(self.returnCode)
        writer.writeBool(self.sessionPresent)
        try writer.writeStr8(self.reason, field: "reason")
    }
}

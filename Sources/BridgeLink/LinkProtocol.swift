import NIOCore

/// Constants of the link protocol (`firmware-protocol.md`) shared by the codec and the session.
public enum LinkProtocol {
    /// The protocol revision this module speaks: the `version` field of HELLO (§5.1, §7).
    public static let version: UInt8 = 2

    /// The line rate both sides start at after every reset (§1).
    public static let baudRate = 115_200

    /// The largest body a sender may send before it has the peer's HELLO, and the least `max_body` an
    /// implementation may announce (§3). A body is the header, the payload and the CRC.
    public static let minimumMaximumBodySize = 512

    /// The longest topic, in bytes, the host registers as a topic id (§8.7): no HELLO field
    /// announces a limit, so the host keeps to what every firmware with `max_topics` above 0 must
    /// accept (the firmware of this tree takes exactly this much).
    public static let maximumRegisteredTopicLength = 40

    /// The smallest possible body: type, flags and CRC (§3). Shorter bodies are CRC errors (§2 rule 4).
    public static let minimumBodySize = 6

    /// After this much silence a sender starts its next frame with an extra delimiter (§2), so that
    /// garbage already on the line is terminated and does not spoil that frame.
    public static let delimiterIdleInterval: TimeAmount = .milliseconds(20)
}

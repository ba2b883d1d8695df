/// A field of a control packet, named in errors so they say exactly where a packet went wrong.
public enum MQTTField: String, Sendable, Hashable, CustomStringConvertible {
    case protocolName = "protocol name"
    case protocolLevel = "protocol level"
    case connectFlags = "connect flags"
    case keepAlive = "keep alive"
    case clientIdentifier = "client identifier"
    case willTopic = "will topic"
    case willPayload = "will message"
    case username = "user name"
    case password = "password"
    case connAckFlags = "acknowledge flags"
    case returnCode = "return code"
    case topicName = "topic"
    case packetIdentifier = "packet identifier"
    case topicFilter = "topic filter"
    case requestedQoS = "requested qos"

    public var description: String { self.rawValue }
}

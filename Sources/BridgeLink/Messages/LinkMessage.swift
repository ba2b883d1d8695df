import NIOCore

/// Every message of the link protocol (§5), one case per frame type.
///
/// ```swift
/// let frame = try LinkMessage.ping(LinkPing(token: token)).makeFrame()
/// let message = try LinkMessage(frame: frame, direction: .espToHost)
/// ```
public enum LinkMessage: Hashable, Sendable {
    /// HELLO (0x01), both directions.
    case hello(LinkHello)
    /// CONFIG (0x02), host to ESP.
    case config(LinkConfig)
    /// CONFIG_ACK (0x03), ESP to host.
    case configAck(LinkConfigAck)
    /// ERROR (0x04), both directions.
    case error(LinkError)
    /// PING (0x05), both directions.
    case ping(LinkPing)
    /// PONG (0x06), both directions.
    case pong(LinkPong)
    /// PUBLISH (0x10), host to ESP.
    case publish(LinkPublish)
    /// SUBSCRIBE (0x11), host to ESP.
    case subscribe(LinkSubscribe)
    /// UNSUBSCRIBE (0x12), host to ESP.
    case unsubscribe(LinkUnsubscribe)
    /// REGISTER (0x13), host to ESP: a topic id for PUBLISH (§8.7).
    case register(LinkRegister)
    /// BAUD (0x14), host to ESP: switch the line rate (§8.8).
    case baud(LinkBaud)
    /// PUBACK (0x20), ESP to host.
    case pubAck(LinkPubAck)
    /// SUBACK (0x21), ESP to host.
    case subAck(LinkSubAck)
    /// MESSAGE (0x22), ESP to host: a message from the broker.
    case incoming(LinkIncoming)
    /// WIFI (0x23), ESP to host.
    case wifi(LinkWiFiState)
    /// BROKER (0x24), ESP to host.
    case broker(LinkBrokerState)
    /// LOG (0x25), ESP to host.
    case log(LinkLog)
    /// STATS (0x26), ESP to host.
    case stats(LinkStats)
    /// REGISTER (0x27), ESP to host: a topic id for MESSAGE (§8.7).
    case registerFromESP(LinkRegister)

    /// The frame type the message travels in.
    public var type: LinkMessageType {
        self.payload.type
    }

    /// Decodes the payload of `frame` by its type, in either direction.
    ///
    /// Bytes after the last field this revision knows are ignored (§4 extensibility rule). The frame's
    /// header flags are not looked at: ``LinkFrameDecoder`` only delivers frames without any.
    ///
    /// - Throws: ``LinkMessageError/unknownType(_:)`` for an unassigned type,
    ///   ``LinkMessageError/unsupportedVersion(_:)`` for a HELLO of another version, and
    ///   ``LinkMessageError/malformed(_:_:)`` for a payload too short or a value out of range.
    public init(frame: LinkFrame) throws(LinkMessageError) {
        var reader = LinkPayloadReader(payload: frame.payload, type: frame.type)
        switch frame.type {
        case .hello: self = .hello(try LinkHello(from: &reader))
        case .config: self = .config(try LinkConfig(from: &reader))
        case .configAck: self = .configAck(try LinkConfigAck(from: &reader))
        case .error: self = .error(try LinkError(from: &reader))
        case .ping: self = .ping(try LinkPing(from: &reader))
        case .pong: self = .pong(try LinkPong(from: &reader))
        case .publish: self = .publish(try LinkPublish(from: &reader))
        case .subscribe: self = .subscribe(try LinkSubscribe(from: &reader))
        case .unsubscribe: self = .unsubscribe(try LinkUnsubscribe(from: &reader))
        case .register: self = .register(try LinkRegister(from: &reader))
        case .baud: self = .baud(try LinkBaud(from: &reader))
        case .pubAck: self = .pubAck(try LinkPubAck(from: &reader))
        case .subAck: self = .subAck(try LinkSubAck(from: &reader))
        case .message: self = .incoming(try LinkIncoming(from: &reader))
        case .wifi: self = .wifi(try LinkWiFiState(from: &reader))
        case .broker: self = .broker(try LinkBrokerState(from: &reader))
        case .log: self = .log(try LinkLog(from: &reader))
        case .stats: self = .stats(try LinkStats(from: &reader))
        case .registerFromESP: self = .registerFromESP(try LinkRegister(from: &reader))
        default: throw .unknownType(frame.type.rawValue)
        }
    }

    /// Decodes a frame that arrived travelling in `direction`, refusing a type that may not travel
    /// that way: the host reads with `.espToHost`, the firmware side with `.hostToESP`.
    ///
    /// - Throws: what ``init(frame:)`` throws, and ``LinkMessageError/wrongDirection(_:_:)`` for an
    ///   assigned type sent the wrong way. Both the unassigned and the wrong-direction case are
    ///   answered with ERROR `unknown-type` (§5).
    public init(frame: LinkFrame, direction: LinkDirection) throws(LinkMessageError) {
        guard frame.type.isAssigned else {
            throw .unknownType(frame.type.rawValue)
        }
        guard frame.type.isAllowed(direction) else {
            throw .wrongDirection(frame.type, direction)
        }
        try self.init(frame: frame)
    }

    /// The frame carrying this message, without header fields: a session adds `seq` and `ack`
    /// (§8.2, §8.3) and ``LinkFragmenter`` splits a PUBLISH too large for one frame (§8.6).
    ///
    /// The caller still compares ``LinkFrame/bodySize`` with the peer's `max_body` before sending.
    ///
    /// - Throws: ``LinkMessageEncodingError/fieldTooLong(_:field:length:maximum:)`` when a string
    ///   or value is longer than its length prefix can say; the spec forbids truncating it (§3).
    public func makeFrame() throws(LinkMessageEncodingError) -> LinkFrame {
        let payload = self.payload
        var writer = LinkPayloadWriter(type: payload.type)
        try payload.value.write(to: &writer)
        return LinkFrame(type: payload.type, payload: writer.buffer)
    }

    private var payload: (type: LinkMessageType, value: any LinkPayloadCodable) {
        switch self {
        case .hello(let value): return (LinkHello.messageType, value)
        case .config(let value): return (LinkConfig.messageType, value)
        case .configAck(let value): return (LinkConfigAck.messageType, value)
        case .error(let value): return (LinkError.messageType, value)
        case .ping(let value): return (LinkPing.messageType, value)
        case .pong(let value): return (LinkPong.messageType, value)
        case .publish(let value): return (LinkPublish.messageType, value)
        case .subscribe(let value): return (LinkSubscribe.messageType, value)
        case .unsubscribe(let value): return (LinkUnsubscribe.messageType, value)
        case .register(let value): return (.register, value)
        case .baud(let value): return (LinkBaud.messageType, value)
        case .pubAck(let value): return (LinkPubAck.messageType, value)
        case .subAck(let value): return (LinkSubAck.messageType, value)
        case .incoming(let value): return (LinkIncoming.messageType, value)
        case .wifi(let value): return (LinkWiFiState.messageType, value)
        case .broker(let value): return (LinkBrokerState.messageType, value)
        case .log(let value): return (LinkLog.messageType, value)
        case .stats(let value): return (LinkStats.messageType, value)
        case .registerFromESP(let value): return (.registerFromESP, value)
        }
    }
}

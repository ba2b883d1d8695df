import BridgeMQTT
import NIOCore

/// One local client's MQTT 3.1.1 conversation: checks the order of packets and hands each to the
/// bridge. A protocol violation closes this client only (MQTT 3.1.1 §4.8); others are unaffected.
final class LocalClientHandler: ChannelInboundHandler {
    typealias InboundIn = MQTTPacket

    private let bridge: Bridge
    private var session: LocalClientSession?

    init(bridge: Bridge) {
        self.bridge = bridge
    }

    func channelActive(context: ChannelHandlerContext) {
        session = bridge.localConnectionOpened(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let session { bridge.localConnectionClosed(session) }
        session = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let session else { return }
        let packet = unwrapInboundIn(data)
        if case .connect(let connect) = packet {
            guard !session.isConnected else {
                return violation(context, "sent a second CONNECT")
            }
            installKeepAlive(context: context, seconds: connect.keepAlive)
            bridge.localConnect(session, connect)
            return
        }
        guard session.isConnected else {
            return violation(context, "sent \(packet.type) before CONNECT")
        }
        switch packet {
        case .publish(let publish):
            bridge.localPublish(session, publish)
        case .pubAck(let pubAck):
            bridge.localPubAck(session, packetID: pubAck.packetId)
        case .pubComp:
            // Deliveries never go out at qos 2 (the link carries qos 1 at most): nothing to settle.
            break
        case .pubRec(let pubRec):
            session.write(.pubRel(MQTTPubRel(packetId: pubRec.packetId)))
        case .pubRel(let pubRel):
            bridge.localPubRel(session, packetID: pubRel.packetId)
        case .subscribe(let subscribe):
            bridge.localSubscribe(session, subscribe)
        case .unsubscribe(let unsubscribe):
            bridge.localUnsubscribe(session, unsubscribe)
        case .pingReq:
            session.write(.pingResp)
        case .disconnect:
            bridge.localDisconnect(session)
            context.close(promise: nil)
        case .connect, .connAck, .subAck, .unsubAck, .pingResp:
            violation(context, "sent \(packet.type), which only a server sends")
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let session { bridge.localWritabilityChanged(session) }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            bridge.logger.info("local client \(session?.label ?? "?") silent for 1.5 × its keepalive; closing it")
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        bridge.logger.warning("local client \(session?.label ?? "?"): \(error); closing it")
        // A client speaking another MQTT version is told so before the close (MQTT 3.1.1 §3.1.2.2).
        if let code = (error as? MQTTDecodeError)?.connAckReturnCode, session?.isConnected == false {
            session?.write(.connAck(MQTTConnAck(sessionPresent: false, returnCode: code)))
        }
        context.close(promise: nil)
    }

    private func violation(_ context: ChannelHandlerContext, _ what: String) {
        bridge.logger.warning("local client \(session?.label ?? "?") \(what); closing it (MQTT 3.1.1 §4.8)")
        context.close(promise: nil)
    }

    /// MQTT 3.1.1 §3.1.2.10: a server closes a client silent for 1.5 × its keepalive.
    private func installKeepAlive(context: ChannelHandlerContext, seconds: UInt16) {
        guard seconds > 0 else { return }
        let handler = IdleStateHandler(readTimeout: .milliseconds(Int64(seconds) * 1500))
        try? context.pipeline.syncOperations.addHandler(handler, position: .before(self))
    }
}

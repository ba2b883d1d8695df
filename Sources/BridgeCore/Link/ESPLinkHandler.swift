import BridgeLink
import NIOCore

/// Counts the raw bytes crossing the serial line, for status.
final class LinkByteCounter: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let bridge: Bridge

    init(bridge: Bridge) {
        self.bridge = bridge
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bridge.status.link.bytesIn += unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        bridge.status.link.bytesOut += unwrapOutboundIn(data).readableBytes
        context.write(data, promise: promise)
    }
}

/// The top of the serial pipeline: turns checked frames into link messages for the bridge and
/// counts every frame the decoder discarded.
final class ESPLinkHandler: ChannelInboundHandler {
    typealias InboundIn = LinkFrameDecoder.Output

    private let bridge: Bridge

    init(bridge: Bridge) {
        self.bridge = bridge
    }

    func channelActive(context: ChannelHandlerContext) {
        bridge.linkChannelActive(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        bridge.linkChannelInactive()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .frame(let frame):
            bridge.status.link.framesIn += 1
            bridge.receivedFrame(frame)
        case .discarded(let error):
            bridge.countDiscardedFrame(error)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        bridge.logger.error("serial link error: \(error); closing the device")
        context.close(promise: nil)
    }
}

extension Bridge {
    func countDiscardedFrame(_ error: LinkFrameError) {
        status.link.resyncs += 1
        switch error {
        case .oversize: status.link.oversizeFrames += 1
        case .framing: status.link.framingErrors += 1
        case .crc: status.link.crcErrors += 1
        case .unsupportedFlags: status.link.unsupportedFrames += 1
        }
    }

    /// A frame passed its CRC but is not a message we understand: say so to the ESP (§7).
    func rejectedFrame(_ error: LinkMessageError) {
        logger.warning("link message from the ESP rejected: \(error)")
        send(.error(LinkError(answering: error)))
    }
}

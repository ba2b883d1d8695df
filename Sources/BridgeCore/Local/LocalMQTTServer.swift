import BridgeMQTT
import NIOCore
import NIOPosix

/// Serves MQTT 3.1.1 on a Unix domain socket: one pipeline per local client.
enum LocalMQTTServer {
    /// Largest packet a local client may send: a generous bound so that garbage announcing a huge
    /// length is refused at once instead of being buffered.
    static let maximumPacketSize = 1 << 20
    /// A client whose unread data passes the high mark is unwritable (`Bridge+Local.swift` gives it
    /// `--slow-client-timeout` to read again); below the low mark it is writable again.
    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 256 << 10, high: 1 << 20)

    static func bind(path: String, bridge: NIOLoopBound<Bridge>, group: any EventLoop) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .childChannelOption(.writeBufferWaterMark, value: writeBufferWaterMark)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers: [any ChannelHandler] = [
                        ByteToMessageHandler(MQTTPacketDecoder(maximumPacketSize: maximumPacketSize)),
                        MessageToByteHandler(MQTTPacketEncoder()),
                        LocalClientHandler(bridge: bridge.value),
                    ]
                    try channel.pipeline.syncOperations.addHandlers(handlers)
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
    }
}

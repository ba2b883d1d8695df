import BridgeMQTT
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Writes one line to standard output at once, without stdio's buffering.
func writeLine(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    bytes.withUnsafeBytes { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
}

func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// What went wrong talking to the daemon, said so that the user knows what to do.
struct CLIError: Error, CustomStringConvertible {
    let description: String
}

/// A minimal MQTT 3.1.1 client over the daemon's Unix socket, for the CLI's one-shot commands.
struct LocalMQTTClient {
    typealias Connection = NIOAsyncChannel<MQTTPacket, MQTTPacket>

    let options: ConnectionOptions

    /// Connects, sends CONNECT, waits for CONNACK, runs `body`, then disconnects.
    func withSession<Result: Sendable>(
        _ body: (
            _ inbound: inout NIOAsyncChannelInboundStream<MQTTPacket>.AsyncIterator,
            _ outbound: NIOAsyncChannelOutboundWriter<MQTTPacket>
        ) async throws -> Result
    ) async throws -> Result {
        let path = options.resolvedSocketPath
        let connection: Connection
        do {
            connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([
                            ByteToMessageHandler(MQTTPacketDecoder()),
                            MessageToByteHandler(MQTTPacketEncoder()),
                        ])
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw CLIError(
                description: "cannot connect to mqttbridged at \(path) (\(error)): is it running? "
                    + "(systemctl status mqttbridged; or pass --socket)")
        }
        let clientID = options.clientID ?? "mqttbridge-cli-\(getpid())"
        return try await connection.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            try await outbound.write(
                .connect(MQTTConnect(clientIdentifier: clientID, cleanSession: true, keepAlive: 0)))
            guard case .connAck(let ack) = try await next(&iterator) else {
                throw CLIError(description: "mqttbridged did not answer CONNECT with CONNACK")
            }
            guard ack.returnCode == .accepted else {
                throw CLIError(description: "mqttbridged refused the connection: \(ack.returnCode)")
            }
            let result = try await body(&iterator, outbound)
            try? await outbound.write(.disconnect)
            return result
        }
    }

    /// The next packet from the daemon, or an error when it closed the connection.
    func next(_ iterator: inout NIOAsyncChannelInboundStream<MQTTPacket>.AsyncIterator) async throws -> MQTTPacket {
        guard let packet = try await iterator.next() else {
            throw CLIError(description: "mqttbridged closed the connection")
        }
        return packet
    }
}

/// Runs `operation` with a deadline; the error says what timed out.
func withTimeout<T: Sendable>(
    seconds: Int, _ what: String, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw CLIError(description: "\(what) within \(seconds) s; see `mqttbridge status`")
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

import BridgeGPIO
import BridgeLink
import BridgeMQTT
import BridgeSerial
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Why the daemon could not start. Each description says what to do.
public enum BridgeStartupError: Error, CustomStringConvertible {
    case serial(SerialDeviceError)
    case gpio(GPIOError)
    case socket(path: String, detail: String)

    public var description: String {
        switch self {
        case .serial(let error): return error.description
        case .gpio(let error): return error.description
        case .socket(let path, let detail):
            return "cannot serve the local socket \(path): \(detail): check that its directory exists and is writable "
                + "and that no other mqttbridged is running (--socket)"
        }
    }
}

/// The daemon as a service: opens the serial device and GPIO lines, serves the local socket and
/// keeps the ESP link up until graceful shutdown.
public struct BridgeService: Service, CustomStringConvertible {
    private let configuration: BridgeConfiguration
    private let logger: Logger

    public init(configuration: BridgeConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// What logs show of the service: never the passwords in its configuration.
    public var description: String {
        "BridgeService(device: \(configuration.device), socket: \(configuration.socketPath), "
            + "broker: \(configuration.broker.host):\(configuration.broker.port))"
    }

    public func run() async throws {
        // Check everything a user can get wrong before anything starts, and fail with a clear error.
        let device: SerialDevice
        do {
            device = try SerialDevice(path: configuration.device, baudRate: configuration.baudRate)
        } catch {
            throw BridgeStartupError.serial(error)
        }
        device.close()
        let lines: ESPResetLines?
        do {
            lines = try configuration.lines.map { (lines) throws(GPIOError) in
                try ESPResetLines(root: lines.gpioRoot, resetLine: lines.resetLine, readyLine: lines.readyLine)
            }
        } catch {
            throw BridgeStartupError.gpio(error)
        }

        // One event loop serialises all of the bridge's state; the traffic fits one core easily.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let configuration = self.configuration
        let logger = self.logger
        let bridge = try await loop.submit {
            NIOLoopBound(
                Bridge(configuration: configuration, eventLoop: loop, resetLines: lines, logger: logger),
                eventLoop: loop)
        }.get()

        let server: any Channel
        do {
            server = try await LocalMQTTServer.bind(path: configuration.socketPath, bridge: bridge, group: loop)
        } catch {
            try? await group.shutdownGracefully()
            throw BridgeStartupError.socket(path: configuration.socketPath, detail: "\(error)")
        }
        logger.info("serving MQTT 3.1.1 on \(configuration.socketPath)")

        let connector = try await loop.submit {
            let connector = SerialLinkConnector(bridge: bridge.value)
            connector.connect()
            return NIOLoopBound(connector, eventLoop: loop)
        }.get()

        try? await gracefulShutdown()
        logger.info("shutting down")
        try? await server.close()
        try? await loop.submit { connector.value.stop() }.get()
        unlink(configuration.socketPath)
        try? await group.shutdownGracefully()
    }
}

/// Opens the serial device and keeps it open: after the device goes away (USB unplugged,
/// `esp-sim` restarted) it reopens it with back-off.
final class SerialLinkConnector {
    private let bridge: Bridge
    private var channel: (any Channel)?
    private var device: SerialDevice?
    private var attempt = 0
    private var stopped = false

    init(bridge: Bridge) {
        self.bridge = bridge
    }

    func connect() {
        guard !stopped else { return }
        let configuration = bridge.configuration
        let descriptor: CInt
        do {
            let device = try SerialDevice(path: configuration.device, baudRate: configuration.baudRate)
            descriptor = try device.takeDescriptorForChannel()
            self.device = device
        } catch {
            retryLater(because: error.description)
            return
        }
        let bridge = NIOLoopBound(bridge, eventLoop: bridge.eventLoop)
        NIOPipeBootstrap(group: bridge.value.eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers: [any ChannelHandler] = [
                        LinkByteCounter(bridge: bridge.value),
                        ByteToMessageHandler(LinkFrameDecoder(maximumBodySize: Int(Bridge.hostMaximumBody))),
                        MessageToByteHandler(LinkFrameEncoder()),
                        ESPLinkHandler(bridge: bridge.value),
                    ]
                    try channel.pipeline.syncOperations.addHandlers(handlers)
                }
            }
            .takingOwnershipOfDescriptor(inputOutput: descriptor)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    attempt = 0
                    self.channel = channel
                    channel.closeFuture.assumeIsolated().whenComplete { [self] _ in
                        self.channel = nil
                        self.device?.close()
                        self.device = nil
                        retryLater(because: "the serial device closed")
                    }
                case .failure(let error):
                    self.device?.close()
                    self.device = nil
                    retryLater(because: "\(error)")
                }
            }
    }

    func stop() {
        stopped = true
        channel?.close(promise: nil)
    }

    private func retryLater(because reason: String) {
        guard !stopped else { return }
        attempt += 1
        let delay = bridge.resetBackoff(attempt: attempt)
        bridge.logger.error("serial link unavailable: \(reason); retrying in \(delay.components.seconds) s")
        bridge.status.link.detail = reason
        bridge.eventLoop.assumeIsolated().scheduleTask(in: .init(delay)) { [self] in connect() }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

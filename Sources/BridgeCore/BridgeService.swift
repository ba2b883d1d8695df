import BridgeGPIO
import BridgeLink
import BridgeMQTT
import BridgeSerial
import BridgeSpool
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
    case spool(SpoolError)

    public var description: String {
        switch self {
        case .serial(let error): return error.description
        case .gpio(let error): return error.description
        case .socket(let path, let detail):
            return "cannot serve the local socket \(path): \(detail): check that its directory exists and is writable "
                + "and that no other mqttbridged is running (--socket)"
        case .spool(let error): return error.description
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
        let kind = device.kind
        if case .modemLines = configuration.reset {
            // Both lines asserted is how opening left them, and lets the ESP run; a pseudo-terminal
            // refuses the request, so a missing DTR/RTS shows now rather than at the first reset.
            do {
                try device.setModemLines(dtr: true, rts: true)
            } catch {
                device.close()
                throw BridgeStartupError.serial(error)
            }
        }
        device.close()
        logger.info(
            "serial device \(configuration.device) is a \(kind), opened with \(kind.openedWith) at \(configuration.baudRate) baud"
        )
        let gpioLines: ESPResetLines?
        switch configuration.reset {
        case .gpio(let lines):
            let claimed: ESPResetLines
            do {
                claimed = try Self.claim(lines)
            } catch {
                throw BridgeStartupError.gpio(error)
            }
            gpioLines = claimed
            logger.info("resetting the ESP through \(GPIOResetControl(lines: claimed))")
        case .modemLines:
            gpioLines = nil
            logger.info("resetting the ESP through DTR/RTS of \(configuration.device) (esptool auto-reset circuit)")
        case .none:
            gpioLines = nil
            logger.info("no reset wired: asking the ESP for HELLO instead of resetting it")
        }

        // One event loop serialises all of the bridge's state; the traffic fits one core easily.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let configuration = self.configuration
        let logger = self.logger
        let (bridge, currentDevice) = try await loop.submit {
            var spool: Spool?
            if let spooling = configuration.spool {
                do throws(SpoolError) {
                    spool = try Spool(directory: spooling.directory, eventLoop: loop, logger: logger)
                } catch {
                    throw BridgeStartupError.spool(error)
                }
            }
            let current = CurrentSerialDevice()
            let reset: (any ESPResetControl)?
            switch configuration.reset {
            case .gpio: reset = gpioLines.map { GPIOResetControl(lines: $0) }
            case .modemLines:
                reset = ModemLineResetControl(
                    current: NIOLoopBound(current, eventLoop: loop), path: configuration.device)
            case .none: reset = nil
            }
            return (
                NIOLoopBound(
                    Bridge(
                        configuration: configuration, eventLoop: loop, resetLines: reset, readyLine: gpioLines?.ready,
                        spool: spool, logger: logger),
                    eventLoop: loop),
                NIOLoopBound(current, eventLoop: loop)
            )
        }.get()
        if let spooling = configuration.spool {
            logger.info(
                "spooling accepted qos 1 and 2 publishes in \(spooling.directory) (at most \(spooling.maximumBytes) bytes, when full: \(spooling.whenFull.rawValue))"
            )
        } else {
            logger.info(
                "no spool (--no-spool): accepted publishes are held in memory and acknowledged once the broker has them"
            )
        }

        let server: any Channel
        do {
            server = try await LocalMQTTServer.bind(path: configuration.socketPath, bridge: bridge, group: loop)
        } catch {
            try? await loop.flatSubmit { bridge.value.closeSpool() }.get()
            try? await group.shutdownGracefully()
            throw BridgeStartupError.socket(path: configuration.socketPath, detail: "\(error)")
        }
        logger.info("serving MQTT 3.1.1 on \(configuration.socketPath)")

        let connector = try await loop.submit {
            let connector = SerialLinkConnector(bridge: bridge.value, current: currentDevice.value)
            bridge.value.startSpool()
            bridge.value.startStatusTopicRefresh()
            connector.connect()
            return NIOLoopBound(connector, eventLoop: loop)
        }.get()

        try? await gracefulShutdown()
        logger.info("shutting down")
        try? await loop.flatSubmit { bridge.value.publishFarewell(timeout: .seconds(2)) }.get()
        try? await server.close()
        try? await loop.submit {
            bridge.value.stopStatusTopicRefresh()
            connector.value.stop()
        }.get()
        try? await loop.flatSubmit { bridge.value.closeSpool() }.get()
        unlink(configuration.socketPath)
        try? await group.shutdownGracefully()
    }

    /// Resolves the line names against the sysfs root and claims RESET and READY.
    private static func claim(_ lines: BridgeConfiguration.Lines) throws(GPIOError) -> ESPResetLines {
        let reset = try lines.resetLine.resolve(root: lines.gpioRoot)
        let ready = try lines.readyLine.map { (name) throws(GPIOError) in try name.resolve(root: lines.gpioRoot) }
        return try ESPResetLines(
            root: lines.gpioRoot, resetLine: reset, resetActiveLow: lines.resetActiveLow, readyLine: ready,
            readyActiveLow: lines.readyActiveLow)
    }
}

/// Opens the serial device and keeps it open: after the device goes away (USB unplugged,
/// `esp-sim` restarted) it reopens it with back-off. The open device is published in
/// ``CurrentSerialDevice`` for the modem-line reset.
final class SerialLinkConnector {
    private let bridge: Bridge
    private let current: CurrentSerialDevice
    private var channel: (any Channel)?
    private var attempt = 0
    private var stopped = false

    init(bridge: Bridge, current: CurrentSerialDevice) {
        self.bridge = bridge
        self.current = current
        bridge.serialDevice = current
    }

    func connect() {
        guard !stopped else { return }
        let configuration = bridge.configuration
        let descriptor: CInt
        do {
            let device = try SerialDevice(path: configuration.device, baudRate: configuration.baudRate)
            descriptor = try device.takeDescriptorForChannel()
            current.device = device
            bridge.logger.debug(
                "opened \(configuration.device) (\(device.kind), with \(device.kind.openedWith)) at \(device.baudRate) baud"
            )
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
                        closeDevice()
                        retryLater(because: "the serial device closed")
                    }
                case .failure(let error):
                    closeDevice()
                    retryLater(because: "\(error)")
                }
            }
    }

    private func closeDevice() {
        current.device?.close()
        current.device = nil
    }

    func stop() {
        stopped = true
        bridge.stopWatchingReady()
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

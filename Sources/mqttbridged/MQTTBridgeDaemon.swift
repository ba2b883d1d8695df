import ArgumentParser
import BridgeCore
import BridgeGPIO
import BridgeSerial
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// `--reset-method`.
enum ResetMethod: String, ExpressibleByArgument, CaseIterable {
    case gpio
    case modemLines = "modem-lines"
    case none
}

@main
struct MQTTBridgeDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqttbridged",
        abstract: "MQTT for this host through an ESP8266 on a serial line.",
        discussion: """
            Resets the ESP through its RESET line (or the DTR/RTS lines of a USB board), pushes it the WiFi and broker configuration, and serves \
            MQTT 3.1.1 to local clients on a Unix socket (mosquitto_pub --unix, paho-mqtt, mqttbridge).
            """
    )

    @Option(help: "The serial device wired to the ESP8266 (a UART, a USB serial adapter or a pseudo-terminal).")
    var device: String

    @Option(help: "Serial line speed.")
    var baud = 115200

    @Option(
        help: ArgumentHelp(
            "After the handshake, switch the line to the fastest rate up to N that the ESP allows too (link "
                + "protocol §8.8), falling back to --baud when it fails. Default: stay at --baud.",
            valueName: "N"))
    var maxBaud: Int?

    @Option(
        help: ArgumentHelp(
            "The largest message payload carried either way, in bytes; larger ones are refused with a log line.",
            valueName: "bytes"))
    var maxMessageSize = 256 * 1024

    @Option(
        help: ArgumentHelp(
            "How to reset the ESP: gpio (a GPIO line wired to RST), modem-lines (DTR/RTS of a USB board's "
                + "serial adapter: NodeMCU, Wemos D1 mini) or none (ask the ESP for HELLO instead). Default: gpio.",
            valueName: "method"))
    var resetMethod: ResetMethod?

    @Option(help: "The sysfs GPIO directory.")
    var gpioRoot = GPIODefaults.sysfsRoot

    @Option(
        name: .customLong("reset-gpio"),
        help: ArgumentHelp(
            "GPIO line wired to the ESP's RST pin: a sysfs number (17) or CHIP:OFFSET with the gpiochip's label "
                + "or name (pinctrl-bcm2711:17 on a Pi 4, pinctrl-rp1:17 on a Pi 5; kernels 6.6+ need this form).",
            valueName: "line"))
    var resetLine = "\(GPIODefaults.resetLine)"

    @Option(
        name: .customLong("ready-gpio"),
        help: ArgumentHelp(
            "GPIO line wired to the firmware's READY output, in the same forms as --reset-gpio, or 'none'.",
            valueName: "line"))
    var readyLine = "\(GPIODefaults.readyLine)"

    @Flag(
        inversion: .prefixedNo,
        help: ArgumentHelp(
            "RESET holds the ESP in reset when low (wired straight to RST; the default). "
                + "--no-reset-active-low when an inverting transistor drives RST."))
    var resetActiveLow = true

    @Flag(
        inversion: .prefixedNo,
        help: "READY reads low while the firmware runs (an inverting level shifter or opto-coupler).")
    var readyActiveLow = false

    @Flag(help: ArgumentHelp("Same as --reset-method none (kept for existing setups).", visibility: .hidden))
    var noGpio = false

    @Option(help: "Where to serve MQTT for local clients.")
    var socket = "/run/mqttbridge/mqtt.sock"

    @Option(help: "The MQTT broker the ESP connects to, HOST:PORT (port 1883 if omitted).")
    var broker: String

    @Option(help: "MQTT client id the ESP uses at the broker (default: mqttbridge-HOSTNAME).")
    var clientId: String?

    @Option(help: "Broker user name.")
    var username: String?

    @Option(help: "Broker password.")
    var password: String?

    @Option(help: "Broker keepalive in seconds (0 disables).")
    var keepalive = 60

    @Flag(
        help: ArgumentHelp(
            "Connect the ESP to the broker with clean session 0: the broker keeps its subscriptions and the qos 1 "
                + "messages not yet delivered to the host while it is away, and sends them on reconnect."))
    var persistentSession = false

    @Option(help: "WiFi network name.")
    var wifiSsid: String

    @Option(help: "WiFi password (empty for an open network).")
    var wifiPassword = ""

    @Option(
        help: ArgumentHelp(
            "Where the daemon publishes retained 'online' once the ESP reaches the broker; the ESP's broker will "
                + "publishes retained 'offline' there when that connection is lost. Default: mqttbridge/CLIENT-ID/status.",
            valueName: "topic"))
    var statusTopic: String?

    @Flag(help: "Publish no birth and set no will on the ESP's broker connection.")
    var noBirth = false

    @Option(
        help: ArgumentHelp(
            "The NTP server the ESP sets its clock from, HOST[:PORT] (port 123 if omitted; the ESP looks a name up "
                + "with the DNS server of its WiFi network), or 'none'. mqttbridge status and $bridge/time show the "
                + "ESP's time and how far the host clock is off.",
            valueName: "server"))
    var ntpServer = "pool.ntp.org"

    @Option(
        help: ArgumentHelp(
            "How many retained messages the daemon keeps for local subscribers while the broker cannot be reached.",
            valueName: "N"))
    var retainedCache = 1000

    @Option(
        help: ArgumentHelp(
            "How many qos 1 messages a persistent local session (clean session 0) keeps while its client is away; "
                + "beyond that the oldest are dropped.",
            valueName: "N"))
    var sessionQueue = 1000

    @Option(
        help: ArgumentHelp(
            "Where accepted qos 1 and 2 publishes wait, on disk, until the broker acknowledges them; "
                + "a publisher's PUBACK means its message is on disk. Created when missing.",
            valueName: "DIR"))
    var spool = "/var/lib/mqttbridge/spool"

    @Flag(
        help: ArgumentHelp(
            "Hold accepted publishes in memory only and acknowledge them to their publishers once the broker has "
                + "(for a read-only root filesystem; a daemon restart loses what the broker did not take yet)."))
    var noSpool = false

    @Option(
        help: ArgumentHelp(
            "The most topic + payload bytes the spool holds, e.g. 64M, 1G, 500000.", valueName: "SIZE"))
    var spoolSize = "64M"

    @Option(
        help: ArgumentHelp(
            "What a full spool does: back-pressure (stop reading from publishing clients until there is room) "
                + "or drop-oldest (drop the oldest messages not yet sent).",
            valueName: "POLICY"))
    var spoolFull = BridgeConfiguration.Spooling.WhenFull.backPressure.rawValue

    @Option(
        help: ArgumentHelp(
            "Seconds a local client may leave unread more than 1 MiB it was sent before it is disconnected "
                + "(a persistent session keeps its qos 1 messages).",
            valueName: "S"))
    var slowClientTimeout = 30

    @Option(help: "Seconds to wait for the ESP's HELLO after a reset before resetting it again.")
    var helloTimeout = 5

    @Option(help: "Seconds the ESP may stay silent during a link session before it is reset.")
    var linkTimeout = 5

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        _ = try brokerAddress()
        _ = try ntpServerConfiguration()
        _ = try resetConfiguration()
        guard (0...65535).contains(keepalive) else {
            throw ValidationError("--keepalive must be between 0 and 65535 seconds, not \(keepalive)")
        }
        guard !wifiSsid.isEmpty, wifiSsid.utf8.count <= 32 else {
            throw ValidationError("--wifi-ssid must be 1 to 32 bytes long")
        }
        guard wifiPassword.utf8.count <= 64 else {
            throw ValidationError("--wifi-password must be at most 64 bytes long")
        }
        guard (1...600).contains(helloTimeout) else {
            throw ValidationError("--hello-timeout must be between 1 and 600 seconds, not \(helloTimeout)")
        }
        guard (2...600).contains(linkTimeout) else {
            throw ValidationError("--link-timeout must be between 2 and 600 seconds, not \(linkTimeout)")
        }
        if let maxBaud {
            guard SerialDevice.supportedBaudRates.contains(maxBaud), maxBaud >= baud else {
                let rates = SerialDevice.supportedBaudRates.filter { $0 >= baud }.map(String.init)
                throw ValidationError(
                    "--max-baud must be one of \(rates.joined(separator: ", ")) (at least --baud), not \(maxBaud)")
            }
        }
        guard (1...(64 << 20)).contains(maxMessageSize) else {
            throw ValidationError("--max-message-size must be between 1 byte and 64 MiB, not \(maxMessageSize)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if let clientId, clientId.isEmpty {
            throw ValidationError("--client-id must not be empty")
        }
        if noBirth, statusTopic != nil {
            throw ValidationError("--no-birth publishes no status: drop one of --no-birth and --status-topic")
        }
        if let statusTopic {
            try checkStatusTopic(statusTopic, "--status-topic")
        }
        guard (0...1_000_000).contains(retainedCache) else {
            throw ValidationError("--retained-cache must be between 0 and 1000000 messages, not \(retainedCache)")
        }
        guard (0...1_000_000).contains(sessionQueue) else {
            throw ValidationError("--session-queue must be between 0 and 1000000 messages, not \(sessionQueue)")
        }
        _ = try spoolConfiguration()
        guard (1...3600).contains(slowClientTimeout) else {
            throw ValidationError("--slow-client-timeout must be between 1 and 3600 seconds, not \(slowClientTimeout)")
        }
    }

    /// `--spool`, `--spool-size`, `--spool-full`; `nil` with `--no-spool`.
    private func spoolConfiguration() throws -> BridgeConfiguration.Spooling? {
        guard !noSpool else { return nil }
        guard !spool.isEmpty else { throw ValidationError("--spool must name a directory (or use --no-spool)") }
        guard let policy = BridgeConfiguration.Spooling.WhenFull(rawValue: spoolFull) else {
            let policies = BridgeConfiguration.Spooling.WhenFull.allCases.map(\.rawValue).joined(separator: " or ")
            throw ValidationError("--spool-full must be \(policies), not '\(spoolFull)'")
        }
        guard let size = Self.byteCount(spoolSize), size >= 1 << 20 else {
            throw ValidationError(
                "--spool-size must be a size of at least 1M, in bytes or with K, M or G (1024-based), not '\(spoolSize)'"
            )
        }
        return .init(directory: spool, maximumBytes: size, whenFull: policy)
    }

    /// "500000", "64K", "64M", "1G" (1024-based) as bytes; `nil` for anything else.
    static func byteCount(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = Substring(text)
        var unit = 1
        if let last = text.last?.uppercased().first, let multiplier = units[last] {
            digits = text.dropLast()
            unit = multiplier
        }
        guard let number = Int(digits), number >= 0 else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: unit)
        return overflow ? nil : bytes
    }

    /// A status topic must be a topic name a broker accepts, and not one of the daemon's `$bridge/` topics.
    private func checkStatusTopic(_ topic: String, _ source: String) throws {
        guard BridgeConfiguration.isPublishableTopic(topic) else {
            throw ValidationError(
                "\(source) '\(topic)' is not a topic name to publish to (no '+', '#', leading '$' or empty topic): "
                    + "give --status-topic or --no-birth")
        }
    }

    private func brokerAddress() throws -> (host: String, port: Int) {
        let parts = broker.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty else {
            throw ValidationError("--broker must be HOST or HOST:PORT, not '\(broker)'")
        }
        guard parts.count == 2 else { return (String(parts[0]), 1883) }
        guard let port = Int(parts[1]), (1...65535).contains(port) else {
            throw ValidationError("--broker port must be a number from 1 to 65535, not '\(parts[1])'")
        }
        return (String(parts[0]), port)
    }

    /// `nil` for `none` (or an empty value): the ESP asks no NTP server.
    private func ntpServerConfiguration() throws -> BridgeConfiguration.NTPServer? {
        guard ntpServer != "none", !ntpServer.isEmpty else { return nil }
        do {
            return try BridgeConfiguration.NTPServer(parsing: ntpServer)
        } catch {
            throw ValidationError("--ntp-server \(error): give HOST, HOST:PORT or none")
        }
    }

    /// The reset method with its GPIO lines parsed; `--no-gpio` is `--reset-method none`.
    private func resetConfiguration() throws -> BridgeConfiguration.ResetMethod {
        if noGpio, let resetMethod, resetMethod != .none {
            throw ValidationError("--no-gpio means --reset-method none; drop one of --no-gpio and --reset-method")
        }
        switch noGpio ? .none : (resetMethod ?? .gpio) {
        case .none: return .none
        case .modemLines: return .modemLines
        case .gpio:
            func parse(_ text: String, _ option: String) throws -> GPIOLineName {
                do {
                    return try GPIOLineName(parsing: text)
                } catch {
                    throw ValidationError("\(option): \(error)")
                }
            }
            return .gpio(
                .init(
                    gpioRoot: gpioRoot, resetLine: try parse(resetLine, "--reset-gpio"), resetActiveLow: resetActiveLow,
                    readyLine: readyLine == "none" ? nil : try parse(readyLine, "--ready-gpio"),
                    readyActiveLow: readyActiveLow))
        }
    }

    private func defaultClientID() -> String {
        var name = [UInt8](repeating: 0, count: 256)
        gethostname(&name, name.count)
        return "mqttbridge-" + String(decoding: name.prefix { $0 != 0 }, as: UTF8.self)
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "mqttbridged")
        let (host, port) = try brokerAddress()
        var configuration = BridgeConfiguration(
            device: device,
            baudRate: baud,
            reset: try resetConfiguration(),
            socketPath: socket,
            broker: .init(
                host: host, port: port, clientID: clientId ?? defaultClientID(), username: username,
                password: password, keepAlive: keepalive, cleanSession: !persistentSession),
            wifi: .init(ssid: wifiSsid, password: wifiPassword)
        )
        configuration.helloTimeout = .seconds(helloTimeout)
        configuration.linkTimeout = .seconds(linkTimeout)
        configuration.maximumBaudRate = maxBaud
        configuration.maximumMessageSize = maxMessageSize
        configuration.retainedCacheMessages = retainedCache
        configuration.sessionQueueSize = sessionQueue
        configuration.spool = try spoolConfiguration()
        configuration.slowClientTimeout = .seconds(slowClientTimeout)
        configuration.ntpServer = try ntpServerConfiguration()
        if !noBirth {
            let topic = statusTopic ?? "mqttbridge/\(configuration.broker.clientID)/status"
            try checkStatusTopic(topic, "the default status topic (from --client-id)")
            configuration.statusTopic = topic
        }
        let group = ServiceGroup(
            services: [BridgeService(configuration: configuration, logger: logger)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        do {
            try await group.run()
        } catch let error as BridgeStartupError {
            logger.critical("\(error)")
            throw ExitCode(1)
        } catch let error as ServiceGroupError {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
    }
}

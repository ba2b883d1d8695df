import BridgeGPIO
import BridgeMQTT

/// Everything the daemon needs to run: where the ESP is, how to reach the broker, where to serve
/// local clients. Built from the command line by `mqttbridged`.
public struct BridgeConfiguration: Sendable {
    public struct Broker: Sendable {
        public var host: String
        public var port: Int
        public var clientID: String
        public var username: String?
        public var password: String?
        public var keepAlive: Int
        public var cleanSession: Bool

        public init(
            host: String, port: Int = 1883, clientID: String, username: String? = nil,
            password: String? = nil, keepAlive: Int = 60, cleanSession: Bool = true
        ) {
            self.host = host
            self.port = port
            self.clientID = clientID
            self.username = username
            self.password = password
            self.keepAlive = keepAlive
            self.cleanSession = cleanSession
        }
    }

    public struct WiFi: Sendable {
        public var ssid: String
        public var password: String

        public init(ssid: String, password: String = "") {
            self.ssid = ssid
            self.password = password
        }
    }

    /// The NTP server the ESP sets its clock from (`--ntp-server`): the host has no network of its own,
    /// so the ESP is its only source of wall-clock time.
    public struct NTPServer: Sendable, Equatable, CustomStringConvertible {
        /// A host name or an IPv4 address (the ESP8266 speaks IPv4 only).
        public var host: String
        public var port: Int

        public init(host: String, port: Int = 123) {
            self.host = host
            self.port = port
        }

        /// `HOST[:PORT]`, checked for what the ESP can look up: a host name of 1–253 bytes in labels of
        /// 1–63 letters, digits, `-` or `_`, or an IPv4 address; a port from 1 to 65535.
        public init(parsing text: String) throws(NTPServerError) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count) else {
                throw NTPServerError(
                    "'\(text)' is not HOST or HOST:PORT (IPv6 addresses are not supported: the ESP8266 speaks IPv4)")
            }
            var port = 123
            if parts.count == 2 {
                guard let number = Int(parts[1]), (1...65535).contains(number) else {
                    throw NTPServerError("port '\(parts[1])' is not a number from 1 to 65535")
                }
                port = number
            }
            let host = String(parts[0])
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".utf8)
            guard (1...253).contains(host.utf8.count),
                labels.allSatisfy({ (1...63).contains($0.utf8.count) && $0.utf8.allSatisfy(allowed.contains) })
            else {
                throw NTPServerError(
                    "'\(host)' is not a host name or IPv4 address (dot-separated labels of 1 to 63 letters, digits, "
                        + "'-' or '_', 253 bytes at most)")
            }
            let numbers = labels.compactMap { UInt8($0) }
            if labels.allSatisfy({ $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
                numbers.count != 4 || labels.count != 4
            {
                throw NTPServerError("'\(host)' is not an IPv4 address (four numbers from 0 to 255)")
            }
            self.init(host: host, port: port)
        }

        /// `HOST:PORT`.
        public var description: String { "\(host):\(port)" }
    }

    /// Why an `--ntp-server` value cannot be used.
    public struct NTPServerError: Error, Equatable, CustomStringConvertible {
        public let description: String

        init(_ description: String) {
            self.description = description
        }
    }

    /// The sysfs GPIO lines wired to the ESP (`--reset-method gpio`).
    public struct Lines: Sendable, Equatable {
        public var gpioRoot: String
        /// RESET, wired to the ESP's RST pin; resolved against `gpioRoot` at startup.
        public var resetLine: GPIOLineName
        /// RESET holds the ESP in reset when low (wired straight to RST); `false` behind an inverter.
        public var resetActiveLow: Bool
        /// READY, the firmware's "running" output; `nil` when it is not wired.
        public var readyLine: GPIOLineName?
        /// READY reads low while the firmware runs (an inverting level shifter or opto-coupler).
        public var readyActiveLow: Bool

        public init(
            gpioRoot: String, resetLine: GPIOLineName, resetActiveLow: Bool = true, readyLine: GPIOLineName?,
            readyActiveLow: Bool = false
        ) {
            self.gpioRoot = gpioRoot
            self.resetLine = resetLine
            self.resetActiveLow = resetActiveLow
            self.readyLine = readyLine
            self.readyActiveLow = readyActiveLow
        }
    }

    /// How the daemon resets the ESP (`--reset-method`).
    public enum ResetMethod: Sendable, Equatable {
        /// A sysfs GPIO line wired to the ESP's RST pin (boards on a UART header).
        case gpio(Lines)
        /// DTR/RTS of the serial device, through the esptool auto-reset circuit of USB boards
        /// (NodeMCU, Wemos D1 mini). Needs a real serial port.
        case modemLines
        /// No reset is wired: the daemon asks the ESP for HELLO instead of resetting it.
        case none
    }

    /// The durable outbound queue (`--spool`).
    public struct Spooling: Sendable {
        public enum WhenFull: String, Sendable, CaseIterable {
            /// Stop reading from publishing clients until the broker has taken enough.
            case backPressure = "back-pressure"
            /// Drop the oldest messages not yet sent to make room.
            case dropOldest = "drop-oldest"
        }

        public var directory: String
        /// Topic + payload bytes the spool may hold.
        public var maximumBytes: Int
        public var whenFull: WhenFull

        public init(directory: String, maximumBytes: Int = 64 << 20, whenFull: WhenFull = .backPressure) {
            self.directory = directory
            self.maximumBytes = maximumBytes
            self.whenFull = whenFull
        }
    }

    public var device: String
    public var baudRate: Int
    public var reset: ResetMethod
    public var socketPath: String
    public var broker: Broker
    public var wifi: WiFi
    /// How long to wait for HELLO after a reset before resetting again.
    public var helloTimeout: Duration = .seconds(5)
    /// How long the ESP may stay silent during a link session before it is reset (§8.5).
    public var linkTimeout: Duration = .seconds(5)
    /// The longest pause between two reset attempts of an ESP that does not answer.
    public var maximumResetBackoff: Duration = .seconds(60)
    /// The highest line rate a BAUD switch may reach after the handshake (§8.8); `nil` keeps the
    /// start rate.
    public var maximumBaudRate: Int?
    /// The largest message payload the daemon carries, either way: larger ones from the ESP are
    /// refused as their first fragment arrives, larger local publishes are refused.
    public var maximumMessageSize = 256 * 1024
    /// Where accepted qos 1 and 2 publishes wait for the broker; `nil` (`--no-spool`) holds them in
    /// memory only and acknowledges them to their publishers once the broker has.
    public var spool: Spooling?
    /// Bounds of the qos 1 publishes the daemon holds in memory for the ESP: without a spool,
    /// reading from publishers pauses there; with one, the rest wait on disk.
    public var maximumPendingPublishes = 10_000
    public var maximumPendingBytes = 16 << 20
    /// Where the daemon publishes its retained birth (`online`, once the ESP reaches the broker) and
    /// the ESP's broker will (`offline`); `nil` publishes neither.
    public var statusTopic: String?
    /// Bounds of the host's copy of the broker's retained messages.
    public var retainedCacheMessages = 1000
    public var retainedCacheBytes = 4 << 20
    /// How long a local client may leave unread what it was sent (past the socket's high water
    /// mark) before it is disconnected.
    public var slowClientTimeout: Duration = .seconds(30)
    /// How many qos 1 messages a persistent local session keeps while its client is away.
    public var sessionQueueSize = 1000
    /// The NTP server the ESP asks for the time (CONFIG `ntp_server`, `ntp_port`); `nil`: none.
    public var ntpServer: NTPServer?
    /// How long the broker's retained messages for a new local subscription may keep arriving after
    /// its SUBACK (see `RetainedReplays`).
    public var retainedReplayGrace: Duration = .seconds(3)

    public init(
        device: String, baudRate: Int, reset: ResetMethod, socketPath: String, broker: Broker, wifi: WiFi
    ) {
        self.device = device
        self.baudRate = baudRate
        self.reset = reset
        self.socketPath = socketPath
        self.broker = broker
        self.wifi = wifi
    }

    /// Whether the daemon may publish to `topic` itself: a valid topic name, outside the `$` topics
    /// brokers reserve and the daemon's own `$bridge/`.
    public static func isPublishableTopic(_ topic: String) -> Bool {
        (try? TopicName(topic)) != nil && !topic.hasPrefix("$")
    }
}

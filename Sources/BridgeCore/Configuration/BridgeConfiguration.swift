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

    public struct Lines: Sendable {
        public var gpioRoot: String
        public var resetLine: Int
        public var readyLine: Int?

        public init(gpioRoot: String, resetLine: Int, readyLine: Int?) {
            self.gpioRoot = gpioRoot
            self.resetLine = resetLine
            self.readyLine = readyLine
        }
    }

    public var device: String
    public var baudRate: Int
    /// `nil`: no RESET line wired; the daemon asks the ESP for HELLO instead of resetting it.
    public var lines: Lines?
    public var socketPath: String
    public var broker: Broker
    public var wifi: WiFi
    /// How long to wait for HELLO after a reset before resetting again.
    public var helloTimeout: Duration = .seconds(5)
    /// The longest pause between two reset attempts of an ESP that does not answer.
    public var maximumResetBackoff: Duration = .seconds(60)
    /// How many qos 1 publishes the daemon holds for the ESP before it stops reading from publishers.
    public var maximumPendingPublishes = 10_000

    public init(
        device: String, baudRate: Int, lines: Lines?, socketPath: String, broker: Broker, wifi: WiFi
    ) {
        self.device = device
        self.baudRate = baudRate
        self.lines = lines
        self.socketPath = socketPath
        self.broker = broker
        self.wifi = wifi
    }
}

/// A snapshot of the daemon's view of the whole path, served as JSON on the retained local topic
/// `$bridge/status` and printed by `mqttbridge status`.
public struct BridgeStatus: Codable, Sendable, Equatable {
    public struct Link: Codable, Sendable, Equatable {
        /// `starting`, `resetting`, `waiting-for-hello`, `configuring`, `switching-baud`, `running`,
        /// `incompatible`, `config-rejected`, `device-lost`.
        public var state = "starting"
        public var detail = ""
        public var device = ""
        /// The line rate now: the start rate, or the one a BAUD switch reached (§8.8).
        public var baudRate = 0
        /// BAUD switches that failed and went back to the start rate.
        public var baudFallbacks = 0
        public var framesIn = 0
        public var framesOut = 0
        public var bytesIn = 0
        public var bytesOut = 0
        public var crcErrors = 0
        public var framingErrors = 0
        public var oversizeFrames = 0
        public var unsupportedFrames = 0
        /// Times the receiver dropped what it had and picked up again at the next delimiter:
        /// every discarded frame (CRC, framing, oversize, unsupported) is one.
        public var resyncs = 0
        public var resets = 0
        public var helloTimeouts = 0
        public var linkTimeouts = 0
        public var retransmissions = 0
        public var duplicates = 0
        public var rejects = 0
        public var roundTripMilliseconds = 0.0
        /// Topics that have a topic id in this session (§8.7), host to ESP.
        public var topicIDs = 0
        /// REGISTER frames sent since start.
        public var topicRegistrations = 0
        /// Topics the ESP registered for its MESSAGE frames in this session.
        public var espTopicIDs = 0
        /// Fragments sent and received (§8.6), since start.
        public var fragmentsOut = 0
        public var fragmentsIn = 0
    }

    public struct ESP: Codable, Sendable, Equatable {
        public var software = ""
        public var protocolVersion = 0
        public var bootCount = 0
        public var resetReason = ""
        public var freeHeap = 0
        public var uptime = 0
        public var maximumBody = 0
        public var maximumInflight = 0
        /// The READY line: `high`, `low`, `unknown` (not read yet), `unreadable`, `not wired`.
        public var ready = "not wired"
        /// Times READY fell while the daemon was not resetting the ESP.
        public var readyDrops = 0
        /// The ESP's `max_topics` and `max_baud` (§8.9).
        public var maximumTopics = 0
        public var maximumBaudRate = 0
    }

    public struct WiFi: Codable, Sendable, Equatable {
        /// `unknown`, `down`, `connecting`, `up`.
        public var state = "unknown"
        public var rssi = 0
        public var address = ""
        public var reason = ""
    }

    public struct Broker: Codable, Sendable, Equatable {
        /// `unknown`, `disconnected`, `connecting`, `connected`.
        public var state = "unknown"
        public var address = ""
        public var reason = ""
        public var returnCode = 0
        /// The last reason the ESP gave (why the connection ended or failed), kept while it
        /// reconnects and after, where `reason` is empty again.
        public var lastReason = ""
    }

    /// The ESP's clock, set from NTP: the host's only source of wall-clock time.
    public struct Time: Codable, Sendable, Equatable {
        /// `off` (no `--ntp-server`), `unsupported` (the firmware has no NTP), `not-synced` (the ESP has
        /// no time yet since it started), `synced`.
        public var state = "off"
        /// The NTP server the ESP asks, `HOST:PORT`; empty when off.
        public var server = ""
        /// The ESP's clock (UTC, ISO-8601 with milliseconds) when this status was made: its last STATS
        /// and the time since; empty until it has the time.
        public var time = ""
        /// The ESP's clock when it last set it from the server (UTC, ISO-8601); empty when it has not
        /// since it started.
        public var lastSync = ""
        /// Seconds since then; absent when it has not synced.
        public var secondsSinceSync: Int?
        /// How far the host's clock is off: the ESP's time less the host's, in seconds, measured when
        /// the last STATS arrived (to a few milliseconds: its time on the line); absent without a time.
        public var hostOffsetSeconds: Double?
        /// Failed attempts since the ESP started.
        public var syncFailures = 0
        /// Why the last attempt failed; empty after a success.
        public var reason = ""
    }

    public struct Traffic: Codable, Sendable, Equatable {
        public var localClients = 0
        public var localSubscriptions = 0
        public var brokerSubscriptions = 0
        /// Broker subscriptions the broker has acknowledged (SUBACK) since the ESP last connected.
        public var brokerSubscriptionsAcknowledged = 0
        public var publishedToBroker = 0
        public var receivedFromBroker = 0
        public var pendingPublishes = 0
        public var droppedQoS0 = 0
        public var rejected = 0
        /// Messages from the broker dropped on the host: larger than `--max-message-size`, or
        /// fragments that did not make a whole message.
        public var droppedFromBroker = 0
        /// Retained messages the host holds, and those evicted to stay within its bounds.
        public var retainedCached = 0
        public var retainedEvicted = 0
        /// Wills of local clients published upstream.
        public var willsPublished = 0
        /// Persistent local sessions whose client is away, the messages they hold, and those dropped
        /// because a session's queue was full.
        public var storedSessions = 0
        public var queuedForSessions = 0
        public var droppedFromSessionQueues = 0
        /// Times reading from publishing clients paused (back-pressure).
        public var readPauses = 0
        /// Local clients disconnected because they did not read what they were sent
        /// (`--slow-client-timeout`).
        public var slowClientsDisconnected = 0
        /// Persistent local clients disconnected because they left too many qos 1 messages
        /// unacknowledged.
        public var unacknowledgingClientsDisconnected = 0
    }

    /// The durable outbound queue (`--spool`).
    public struct Spool: Codable, Sendable, Equatable {
        /// `false` with `--no-spool`: accepted publishes are held in memory only.
        public var enabled = false
        public var directory = ""
        /// Accepted publishes the broker has not acknowledged yet, and their topic + payload bytes.
        public var messages = 0
        public var bytes = 0
        public var maximumBytes = 0
        /// `back-pressure` or `drop-oldest` (`--spool-full`).
        public var whenFull = ""
        public var full = false
        /// Dropped by the drop-oldest policy.
        public var dropped = 0
        /// Accepted but not on disk yet (not acknowledged to their publishers yet).
        public var unwritten = 0
        /// Transactions written (each one fsync) and the messages they stored: group commit puts
        /// many messages in one transaction under load.
        public var commits = 0
        public var committedMessages = 0
        public var failedCommits = 0
        public var lastError = ""
        /// Some spooled messages wait on disk only, beyond the outbound queue's memory bounds.
        public var onDiskOnly = false
    }

    public var link = Link()
    public var esp = ESP()
    public var wifi = WiFi()
    public var broker = Broker()
    public var time = Time()
    public var traffic = Traffic()
    public var spool = Spool()

    public init() {}
}

import BridgeGPIO
import BridgeLink
import BridgeMQTT
import BridgeSpool
import Logging
import NIOCore

/// The daemon's state and the rules that join its two sides: the ESP on the serial link and the
/// local MQTT clients on the Unix socket.
///
/// Every method runs on one event loop, which serialises all state changes without locks: channel
/// handlers reach the bridge through `NIOLoopBound`. The link handshake lives in `Bridge+ESP.swift`,
/// the local MQTT side in `Bridge+Local.swift`,
/// retained messages in `Bridge+Retained.swift`, persistent local sessions in `Bridge+Sessions.swift`,
/// the `$bridge/…` status topics in `Bridge+StatusTopics.swift`, the ESP's clock in `Bridge+Time.swift`.
public final class Bridge {
    /// Where the handshake with the ESP stands (firmware-protocol.md §6).
    enum LinkState: Equatable {
        case starting
        case resetting
        case awaitingHello
        case configuring(bootCount: UInt32)
        /// Configured; the line is moving to a faster rate (§8.8) before the state is replayed.
        case switchingBaud
        case running
        case incompatible
        case configRejected
        case deviceLost

        var name: String {
            switch self {
            case .starting: return "starting"
            case .resetting: return "resetting"
            case .awaitingHello: return "waiting-for-hello"
            case .configuring: return "configuring"
            case .switchingBaud: return "switching-baud"
            case .running: return "running"
            case .incompatible: return "incompatible"
            case .configRejected: return "config-rejected"
            case .deviceLost: return "device-lost"
            }
        }
    }

    /// Whose qos 1 publish is on its way to the broker, and what its acknowledgement settles.
    enum PublishOrigin: Sendable {
        /// A local client's, without a spool: its PUBACK (or PUBREC) waits for the broker's.
        case client(connection: LocalConnectionID, packetID: UInt16, qos: MQTTQoS)
        /// A message in the spool: its client was acknowledged once it was on disk; it leaves the
        /// spool when the broker acknowledges it.
        case spooled(sequence: UInt64, size: Int)
        /// The daemon's own: the birth, local clients' wills.
        case daemon
        /// The `offline` published while stopping: the daemon waits for its acknowledgement.
        case farewell
    }

    static let software = "mqttbridged 0.1.0"
    static let statusTopic = "$bridge/status"
    /// Filters under this prefix are served by the daemon itself and never go to the broker.
    static let localTopicPrefix = "$bridge/"
    /// Completed when the broker acknowledges the farewell (`publishFarewell`).
    var farewell: EventLoopPromise<Void>?

    let configuration: BridgeConfiguration
    let eventLoop: any EventLoop
    var logger: Logger
    let resetLines: (any ESPResetControl)?
    /// The firmware's READY output, when wired (`Bridge+Ready.swift`).
    let readyLine: SysfsGPIOLine?
    var readyWatch: Scheduled<Void>?
    /// READY's last reading; `nil` before the first or after a failed one.
    var readyLevel: Bool?

    var status = BridgeStatus()
    var linkState: LinkState = .starting {
        didSet {
            guard linkState != oldValue else { return }
            status.link.state = linkState.name
            publishStatus()
        }
    }
    var espChannel: (any Channel)?
    /// The link session (firmware-protocol.md §8), from the host's HELLO until the next reset.
    var session: LinkSession?
    var sessionTimer: Scheduled<Void>?
    var sessionTimerDeadline: NIODeadline?
    /// The counters of the sessions before the current one, so status totals survive resets.
    var earlierSessions = LinkSession.Counters()
    var peerHello: LinkHello?
    /// The serial device the link has open, for the BAUD switch; set by the connector.
    var serialDevice: CurrentSerialDevice?
    /// Completes when everything written to the ESP so far has reached the device.
    var lastWrite: EventLoopFuture<Void>?
    /// The host's topic ids for this session (§8.7).
    var topicIDs = TopicIDAssigner(capacity: 0, maximumTopicLength: 0)
    /// Topics of qos 1 publishes sent with a topic id, by message id: a rejection is retried by name.
    var publishesSentWithTopicID: [UInt16: String] = [:]
    /// The ESP's topic ids for its MESSAGE frames in this session (§8.7).
    var espTopics: [UInt16: String] = [:]
    /// Joins MESSAGE fragments (§8.6).
    var reassembler: MessageReassembler
    /// Where the line-rate switch of this session stands (§8.8).
    var baudSwitch = BaudSwitch.Phase.notTried
    var baudTimer: Scheduled<Void>?
    var brokerConnected = false {
        didSet {
            if !brokerConnected {
                // A new broker connection (or ESP) subscribes again; the old grants no longer count.
                acknowledgedFilters.removeAll()
                retainedReplays.resubscribingAll()
            } else if !oldValue {
                publishBirth()
            }
        }
    }
    var resetAttempt = 0
    var handshakeTimer: Scheduled<Void>?

    var subscriptions = SubscriptionTable()
    /// Filters the broker has granted since the ESP's broker connection last came up.
    var acknowledgedFilters: Set<String> = []
    /// Subscriptions to the daemon's own `$bridge/…` topics.
    var localTopicSubscriptions = SubscriptionTable()
    /// What each `$bridge/…` part topic last carried, and the timer that refreshes them.
    var statusTopicTracker = StatusTopicTracker()
    var statusTopicTimer: Scheduled<Void>?
    var clients: [LocalConnectionID: LocalClientSession] = [:]
    var connectionsByClientIdentifier: [String: LocalConnectionID] = [:]
    var nextConnectionID: LocalConnectionID = 1
    var outbound: OutboundPublishes<PublishOrigin>
    /// The durable outbound queue, `nil` with `--no-spool` (`Bridge+Spool.swift`).
    let spool: Spool?
    /// The first spooled publish not in `outbound`: it and all after it wait on disk only.
    var spoolBacklogStart: UInt64?
    var spoolLoading = false
    /// Reading from publishing clients is paused (back-pressure, `updateReadingFromClients`).
    var readingPaused = false
    /// The broker's retained messages as last learned (`Bridge+Retained.swift`).
    var retainedCache: RetainedCache
    var retainedReplays = RetainedReplays()
    var replayTimers: [TopicFilter: Scheduled<Void>] = [:]
    /// Persistent sessions whose client is away, by client id, and their subscription keys
    /// (`Bridge+Sessions.swift`).
    var storedSessions: [String: StoredSession] = [:]
    var storedSessionKeys: [LocalConnectionID: String] = [:]
    /// The ESP's clock from its last STATS, while it has the time (`Bridge+Time.swift`).
    var espClock: ESPClock?
    /// The log said that the host's clock is off; it says so again only after it agreed again.
    var hostClockOffReported = false

    /// - Parameters:
    ///   - resetLines: how to reset the ESP (GPIO or modem lines), or `nil` when no reset is wired.
    ///   - readyLine: the firmware's READY output, or `nil` when it is not wired.
    ///   - spool: the opened spool of `configuration.spool`.
    public init(
        configuration: BridgeConfiguration,
        eventLoop: any EventLoop,
        resetLines: (any ESPResetControl)?,
        readyLine: SysfsGPIOLine? = nil,
        spool: Spool? = nil,
        logger: Logger
    ) {
        self.spool = spool
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.resetLines = resetLines
        self.readyLine = readyLine
        self.logger = logger
        self.outbound = OutboundPublishes(
            capacity: configuration.maximumPendingPublishes, maximumBytes: configuration.maximumPendingBytes)
        self.retainedCache = RetainedCache(
            maximumMessages: configuration.retainedCacheMessages, maximumBytes: configuration.retainedCacheBytes)
        self.reassembler = MessageReassembler(maximumMessageSize: configuration.maximumMessageSize)
        status.link.device = configuration.device
        status.link.baudRate = configuration.baudRate
        status.broker.address = "\(configuration.broker.host):\(configuration.broker.port)"
        status.time = initialTimeStatus
    }

    /// The current status, with the traffic counters brought up to date.
    public var currentStatus: BridgeStatus {
        var snapshot = status
        snapshot.traffic.localClients = clients.count
        snapshot.traffic.localSubscriptions = subscriptions.count
        snapshot.traffic.brokerSubscriptions = subscriptions.upstreamFilters.count
        snapshot.traffic.brokerSubscriptionsAcknowledged = acknowledgedFilters.count
        snapshot.traffic.pendingPublishes = outbound.count
        snapshot.traffic.retainedCached = retainedCache.count
        snapshot.traffic.retainedEvicted = retainedCache.evictions
        snapshot.traffic.storedSessions = storedSessions.count
        snapshot.traffic.queuedForSessions = storedSessions.values.reduce(0) { $0 + $1.pending.count }
        snapshot.spool = spoolStatus()
        addClock(to: &snapshot.time)
        return snapshot
    }

    /// The state changed: sends the status to every local subscriber of `$bridge/status`, and the
    /// parts that changed to those of their topics (`Bridge+StatusTopics.swift`).
    func publishStatus() {
        if !localTopicSubscriptions.recipients(of: Self.statusTopic).isEmpty {
            deliverToLocalTopicSubscribers(topic: Self.statusTopic, payload: statusPayload())
        }
        refreshStatusTopics(includingCounters: false)
    }

    /// The birth: retained `online` on the status topic each time the ESP reaches the broker. The
    /// broker publishes the ESP's will, retained `offline`, when that connection is lost (`espConfig`).
    func publishBirth() {
        guard let topic = configuration.statusTopic else { return }
        logger.info("publishing the birth 'online' (retained) to '\(topic)'")
        if !forwardUpstream(
            topic: topic, payload: ByteBuffer(string: Self.birthPayload), qos: .atLeastOnce, retain: true,
            origin: .daemon)
        {
            logger.error("outbound queue full; the birth is not published")
        }
    }

    /// The farewell: retained `offline` on the status topic when the daemon stops. The ESP keeps
    /// its broker connection while the daemon is gone, so its will would not say so. Waits for the
    /// broker's PUBACK at most `timeout`; the future always succeeds, as stopping must go on.
    func publishFarewell(timeout: TimeAmount) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        guard let topic = configuration.statusTopic, linkState == .running, brokerConnected else {
            promise.succeed()
            return promise.futureResult
        }
        guard
            forwardUpstream(
                topic: topic, payload: ByteBuffer(string: Self.willPayload), qos: .atLeastOnce, retain: true,
                origin: .farewell)
        else {
            promise.succeed()
            return promise.futureResult
        }
        logger.info("publishing 'offline' (retained) to '\(topic)' before stopping")
        farewell = promise
        eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            guard let farewell else { return }
            logger.warning("the broker did not acknowledge 'offline' within \(timeout.nanoseconds / 1_000_000) ms")
            self.farewell = nil
            farewell.succeed()
        }
        return promise.futureResult
    }

    /// The broker acknowledged the farewell.
    func farewellDelivered() {
        farewell?.succeed()
        farewell = nil
    }

    static let birthPayload = "online"
    static let willPayload = "offline"

    func statusPayload() -> ByteBuffer {
        ByteBuffer(bytes: StatusEncoding.json(currentStatus))
    }
}

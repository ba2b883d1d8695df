import BridgeGPIO
import BridgeLink
import BridgeMQTT
import Logging
import NIOCore

/// The ESP side: the reset ladder, the handshake (firmware-protocol.md §6) and the ESP's messages.
extension Bridge {
    /// Frames the daemon accepts from the ESP: large enough for any message the firmware sends.
    static let hostMaximumBody: UInt16 = 8192
    /// The credit the host grants (§8.3): it handles every frame as it arrives, so the window only
    /// bounds how much the ESP may have in flight.
    static let hostReceiveWindow: UInt8 = 32
    /// Topic ids the ESP may register for its MESSAGE frames (§8.7): a table costs the host little.
    static let hostMaximumTopics: UInt8 = 32

    /// The largest frame body the ESP accepts.
    var peerMaximumBody: Int { peerHello.map { Int($0.maximumBodySize) } ?? LinkProtocol.minimumMaximumBodySize }

    // MARK: - Link channel life cycle

    /// The serial channel is up: start from a known state by resetting the ESP.
    func linkChannelActive(_ channel: any Channel) {
        espChannel = channel
        logger.info("serial link open", metadata: ["device": "\(configuration.device)"])
        startWatchingReady()
        resetESP()
    }

    /// The serial channel closed (device unplugged, `esp-sim` stopped).
    func linkChannelInactive() {
        espChannel = nil
        endSession()
        handshakeTimer?.cancel()
        brokerConnected = false
        outbound.retryAllInFlight()
        // The device reopens at the start rate.
        status.link.baudRate = configuration.baudRate
        status.link.detail = "serial device closed; reopening"
        linkState = .deviceLost
    }

    // MARK: - Reset ladder

    /// Resets the ESP through its RESET line (or asks for HELLO without one) and waits for HELLO.
    func resetESP() {
        endLinkForRestart()
        status.link.resets += 1
        // The ESP starts at the start rate after every reset (§1); so must the host.
        returnToStartRate()
        linkState = .resetting
        guard let resetLines else {
            sendHello(peerWindow: 1)
            awaitHello()
            return
        }
        do {
            try resetLines.holdInReset(true)
        } catch {
            logger.error("cannot drive the ESP's RESET line: \(error)")
            awaitHello()
            return
        }
        handshakeTimer = eventLoop.assumeIsolated().scheduleTask(in: .init(resetLines.pulseWidth)) { [self] in
            do {
                try resetLines.holdInReset(false)
            } catch {
                logger.error("cannot release the ESP's RESET line: \(error)")
            }
            awaitHello()
        }
    }

    /// The ESP is about to start afresh (our reset, or READY fell): the session and the broker
    /// connection it held are gone.
    func endLinkForRestart() {
        endSession()
        handshakeTimer?.cancel()
        brokerConnected = false
    }

    func awaitHello() {
        linkState = .awaitingHello
        handshakeTimer = eventLoop.assumeIsolated().scheduleTask(in: .init(configuration.helloTimeout)) { [self] in
            helloTimedOut()
        }
    }

    private func helloTimedOut() {
        resetAttempt += 1
        status.link.helloTimeouts += 1
        let delay = resetBackoff(attempt: resetAttempt)
        let timeout = configuration.helloTimeout.components.seconds
        let message =
            "no HELLO from the ESP on \(configuration.device) within \(timeout) s (attempt \(resetAttempt)): "
            + "check that the bridge firmware is flashed, the wiring (ESP TX → host RX, RX ← TX, GND, RESET) "
            + "and the baud rate (\(configuration.baudRate))\(readyHint); resetting again in \(delay.components.seconds) s"
        logger.warning("\(message)")
        status.link.detail = message
        publishStatus()
        handshakeTimer = eventLoop.assumeIsolated().scheduleTask(in: .init(delay)) { [self] in resetESP() }
    }

    /// 1 s doubling up to the configured maximum.
    func resetBackoff(attempt: Int) -> Duration {
        let seconds = 1 << min(max(attempt - 1, 0), 16)
        return min(.seconds(seconds), configuration.maximumResetBackoff)
    }

    // MARK: - Handshake

    var hostHello: LinkHello {
        LinkHello(
            maximumBodySize: Self.hostMaximumBody, window: Self.hostReceiveWindow, software: Self.software,
            maximumTopics: Self.hostMaximumTopics, maximumBaudRate: UInt32(configuration.maximumBaudRate ?? 0))
    }

    var espConfig: LinkConfig {
        var config = LinkConfig()
        config.wifiSSID = configuration.wifi.ssid
        config.wifiPassword = configuration.wifi.password
        config.brokerHost = configuration.broker.host
        config.brokerPort = UInt16(configuration.broker.port)
        config.clientID = configuration.broker.clientID
        config.username = configuration.broker.username
        config.password = configuration.broker.password.map { ByteBuffer(string: $0) }
        config.keepAlive = UInt16(configuration.broker.keepAlive)
        config.cleanSession = configuration.broker.cleanSession
        if let ntpServer = configuration.ntpServer {
            config.ntpServer = ntpServer.host
            config.ntpPort = UInt16(ntpServer.port)
        }
        if let statusTopic = configuration.statusTopic {
            config.willTopic = statusTopic
            config.willPayload = ByteBuffer(string: Self.willPayload)
            config.willQoS = .atLeastOnce
            config.willRetain = true
        }
        return config
    }

    private func receivedHello(_ hello: LinkHello) {
        guard hello.version == LinkProtocol.version else {
            handshakeTimer?.cancel()
            let detail =
                "host speaks link protocol \(LinkProtocol.version), firmware '\(hello.software)' speaks "
                + "\(hello.version): update mqttbridged or flash a matching firmware"
            logger.error("\(detail)")
            status.link.detail = detail
            send(.error(LinkError(code: .version, detail: detail)))
            linkState = .incompatible
            return
        }
        switch linkState {
        case .configuring(let bootCount) where bootCount == hello.bootCount:
            // The ESP repeats HELLO every second until our CONFIG lands; the config timer covers a lost one.
            return
        case .running, .configuring:
            logger.warning(
                "the ESP restarted by itself (reset reason: \(hello.resetReason), boot \(hello.bootCount)); replaying its configuration and \(subscriptions.upstreamFilters.count) subscriptions"
            )
        default:
            break
        }
        handshakeTimer?.cancel()
        resetAttempt = 0
        brokerConnected = false
        outbound.retryAllInFlight()
        peerHello = hello
        status.esp.software = hello.software
        status.esp.protocolVersion = Int(hello.version)
        status.esp.bootCount = Int(hello.bootCount)
        status.esp.resetReason = hello.resetReason.description
        status.esp.freeHeap = Int(hello.freeHeap)
        status.esp.maximumBody = Int(hello.maximumBodySize)
        status.esp.maximumInflight = Int(hello.maximumInFlight)
        status.esp.maximumTopics = Int(hello.maximumTopics)
        status.esp.maximumBaudRate = Int(hello.maximumBaudRate)
        status.link.detail = ""
        status.wifi = .init()
        status.broker.state = "unknown"
        resetTime(for: hello)
        logger.info(
            "ESP says HELLO: \(hello.software), link protocol \(hello.version), boot \(hello.bootCount), reset reason: \(hello.resetReason), free heap \(hello.freeHeap) B"
        )
        sendHello(peerWindow: hello.window)
        send(.config(espConfig))
        linkState = .configuring(bootCount: hello.bootCount)
        handshakeTimer = eventLoop.assumeIsolated().scheduleTask(in: .init(configuration.helloTimeout)) { [self] in
            logger.warning("the ESP did not answer CONFIG within \(configuration.helloTimeout); resetting it")
            resetESP()
        }
    }

    private func receivedConfigAck(_ ack: LinkConfigAck) {
        handshakeTimer?.cancel()
        guard ack.result == .accepted else {
            let detail =
                "the ESP refused its configuration (\(ack.result)): \(ack.detail); fix the WiFi/broker options and restart mqttbridged"
            logger.error("\(detail)")
            status.link.detail = detail
            linkState = .configRejected
            return
        }
        startBaudSwitchOrRun()
    }

    /// The handshake is over (and the line at its rate): replay the state and start serving.
    func enterRunning() {
        logger.info("ESP configured; replaying \(subscriptions.upstreamFilters.count) subscriptions")
        // Every accepted CONFIG empties the ESP's subscription set (§5.2), so replay after each one.
        for filter in subscriptions.upstreamFilters {
            send(.subscribe(LinkSubscribe(qos: .atLeastOnce, filter: filter.description)))
        }
        linkState = .running
        pumpOutbound()
    }

    // MARK: - Messages from the ESP

    func received(_ message: LinkMessage) {
        // While RESET is held, whatever arrives was sent before the reset: the ESP starts afresh.
        guard linkState != .resetting else {
            logger.debug("ignoring \(message.type) received while the ESP is held in reset")
            return
        }
        switch message {
        case .hello(let hello):
            receivedHello(hello)
        case .configAck(let ack):
            receivedConfigAck(ack)
        case .error(let error):
            logger.warning("the ESP reports a link error: \(error.code): \(error.detail)")
        case .ping(let ping):
            send(.pong(ping.pong))
        case .pong(let pong):
            receivedPong(pong)
        case .pubAck(let ack):
            receivedPubAck(ack)
        case .subAck(let ack):
            brokerAcknowledgedSubscription(ack.filter)
            if ack.granted == .failure {
                logger.error("the broker refused the subscription to '\(ack.filter)'")
            } else if let filter = try? TopicFilter(ack.filter), subscriptions.isUpstream(filter) {
                logger.debug("broker subscription '\(ack.filter)' granted \(ack.granted)")
                acknowledgedFilters.insert(ack.filter)
            }
        case .incoming(let incoming):
            status.traffic.receivedFromBroker += 1
            routeFromBroker(incoming)
        case .wifi(let wifi):
            receivedWiFiState(wifi)
        case .broker(let broker):
            receivedBrokerState(broker)
        case .log(let log):
            logFromESP(log)
        case .stats(let stats):
            receivedStats(stats)
        case .registerFromESP(let register):
            receivedTopicRegistration(register)
        case .config, .publish, .subscribe, .unsubscribe, .register, .baud:
            send(.error(LinkError(code: .unknownType, detail: "type \(message.type) is sent by the host only")))
        }
    }

    private func receivedWiFiState(_ wifi: LinkWiFiState) {
        status.wifi.state = "\(wifi.state)"
        status.wifi.rssi = Int(wifi.rssi)
        status.wifi.address = wifi.address
        status.wifi.reason = wifi.reason
        let reason = wifi.reason.isEmpty ? "" : " (\(wifi.reason))"
        logger.info("ESP WiFi \(status.wifi.state)\(reason)")
        publishStatus()
    }

    private func receivedBrokerState(_ broker: LinkBrokerState) {
        status.broker.state = "\(broker.state)"
        status.broker.reason = broker.reason
        if !broker.reason.isEmpty { status.broker.lastReason = broker.reason }
        status.broker.returnCode = Int(broker.returnCode)
        let wasConnected = brokerConnected
        brokerConnected = broker.state == .connected
        if brokerConnected {
            logger.info("broker \(status.broker.address) connected")
            pumpOutbound()
        } else if wasConnected || broker.state == .disconnected {
            let reason = broker.reason.isEmpty ? "" : ": \(broker.reason)"
            logger.warning("broker \(status.broker.address) \(status.broker.state)\(reason); the ESP retries by itself")
        }
        publishStatus()
    }

    private func logFromESP(_ log: LinkLog) {
        let level: Logger.Level
        switch log.level {
        case .debug: level = .debug
        case .info: level = .info
        case .warning: level = .warning
        case .error, .other: level = .error
        }
        logger.log(level: level, "ESP: \(log.text)")
    }

    // MARK: - Publishing to the broker

    /// Sends waiting qos 1 publishes while the link and broker are up and the ESP has room.
    func pumpOutbound() {
        guard linkState == .running, brokerConnected, let hello = peerHello else { return }
        let batch = outbound.takeSendable(limit: max(Int(hello.maximumInFlight), 1))
        var unsendable: [OutboundPublishes<PublishOrigin>.Entry] = []
        for entry in batch {
            let publish = LinkPublish(
                qos: .atLeastOnce, retain: entry.retain, messageID: entry.messageID, topic: entry.topic,
                payload: entry.payload)
            if !sendPublish(publish, flush: false) { unsendable.append(entry) }
        }
        if !batch.isEmpty { espChannel?.flush() }
        for entry in unsendable {
            // Checked before it was queued; a guard against a publish that can never go.
            _ = outbound.settle(entry.messageID)
            status.traffic.rejected += 1
            publishSettled(entry.origin)
        }
    }

    private func receivedPubAck(_ ack: LinkPubAck) {
        let sentWithTopic = publishesSentWithTopicID.removeValue(forKey: ack.messageID)
        if ack.result == .rejected, let topic = sentWithTopic, outbound.isInFlight(ack.messageID) {
            // The ESP did not know the id (its REGISTER was refused): that topic goes by name from now on.
            logger.warning(
                "the ESP rejected a publish sent with a topic id for '\(topic)'; sending it again with the topic name")
            topicIDs.exclude(topic)
            status.link.topicIDs = topicIDs.count
            outbound.retry(ack.messageID)
            pumpOutbound()
            return
        }
        switch ack.result {
        case .delivered:
            if let entry = outbound.settle(ack.messageID) {
                status.traffic.publishedToBroker += 1
                publishSettled(entry.origin)
            }
        case .rejected:
            if let entry = outbound.settle(ack.messageID) {
                status.traffic.rejected += 1
                logger.error(
                    "the ESP rejected a publish to '\(entry.topic)' (\(entry.payload.readableBytes) B); it is dropped")
                publishSettled(entry.origin)
            } else if ack.messageID == 0 {
                status.traffic.droppedQoS0 += 1
            }
        case .offline, .busy:
            if ack.messageID == 0 {
                status.traffic.droppedQoS0 += 1
                return
            }
            outbound.retry(ack.messageID)
            if ack.result == .offline { brokerConnected = false }
        }
        loadSpoolBacklog()
        updateReadingFromClients()
        pumpOutbound()
    }

    /// A publish left the outbound queue for good (the broker has it, or it can never be sent):
    /// whoever waited for that is told.
    func publishSettled(_ origin: PublishOrigin) {
        switch origin {
        case .client(let connection, let packetID, let qos):
            clients[connection]?.acknowledgePublish(packetID: packetID, qos: qos)
        case .spooled(let sequence, let size):
            spool?.remove(sequence, size: size)
        case .daemon:
            break
        case .farewell:
            farewellDelivered()
        }
    }

    // MARK: - Link session (§8)

    /// Sends HELLO, which starts a new link session (§8.1).
    private func sendHello(peerWindow: UInt8) {
        endSession()
        startLinkFeatures()
        session = LinkSession(configuration: sessionConfiguration, peerWindow: peerWindow, now: .now())
        send(.hello(hostHello))
    }

    /// How this side of the session acknowledges. On a slow line a publish of ours goes out only
    /// every frame-time, so an ACK waits for as long as one largest frame takes on the line at the
    /// start rate (10 ms at least): the next publish usually carries it instead of an ACK frame of
    /// its own, which at 115200 baud saved 3 % of the line for 256-byte qos 1 messages. Every
    /// second frame is acknowledged at once, as the ESP's send queue holds only a few.
    var sessionConfiguration: LinkSession.Configuration {
        var session = LinkSession.Configuration(receiveWindow: Self.hostReceiveWindow)
        let largestFrame = COBS.maximumEncodedLength(bodyLength: peerMaximumBody) + 1  // and its delimiter
        let frameTime = TimeAmount.nanoseconds(Int64(largestFrame) * 10 * 1_000_000_000 / Int64(configuration.baudRate))
        session.acknowledgementDelay = max(.milliseconds(10), frameTime)
        session.acknowledgeAfter = 2
        return session
    }

    private func endSession() {
        if let session { earlierSessions = earlierSessions + session.counters }
        session = nil
        sessionTimer?.cancel()
        sessionTimer = nil
        sessionTimerDeadline = nil
    }

    /// A frame that passed its CRC: the session orders it, then its message goes to `received`.
    func receivedFrame(_ frame: LinkFrame) {
        guard var current = session else {
            // Outside a session only unsequenced frames (the ESP's boot HELLO) mean anything.
            if frame.seq == nil { deliver(frame) }
            return
        }
        let output = current.receive(frame, now: .now())
        session = current
        write(output.frames)
        heardDuringBaudSwitch()
        for delivered in output.delivered { deliver(delivered) }
        updateSessionStatus()
        scheduleSessionTimer()
    }

    private func deliver(_ frame: LinkFrame) {
        if frame.type == .message {
            receivedMessageFrame(frame)
            return
        }
        if frame.seq != nil { messageInterrupted() }
        do {
            received(try LinkMessage(frame: frame, direction: .espToHost))
        } catch {
            rejectedFrame(error)
        }
    }

    /// Arms one timer for the session's earliest deadline, or for the link timeout.
    private func scheduleSessionTimer() {
        guard let session else { return }
        var deadline = min(session.nextDeadline, livenessReference + .init(configuration.linkTimeout))
        if let silence = lineSilenceDeadline { deadline = min(deadline, silence) }
        if let armed = sessionTimerDeadline, armed <= deadline { return }
        sessionTimer?.cancel()
        sessionTimerDeadline = deadline
        sessionTimer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            sessionTimer = nil
            sessionTimerDeadline = nil
            sessionTimerFired()
        }
    }

    private func sessionTimerFired() {
        guard session != nil else { return }
        let now = NIODeadline.now()
        if now - livenessReference >= .init(configuration.linkTimeout) {
            status.link.linkTimeouts += 1
            let seconds = configuration.linkTimeout.components.seconds
            logger.error(
                "no frame from the ESP for \(seconds) s: it hung or the line is cut; resetting it (--link-timeout)"
            )
            resetESP()
            return
        }
        if let silence = lineSilenceDeadline, now >= silence {
            lineWentSilent()
        }
        // Taken after lineWentSilent(), which may send: the copy must include that.
        guard var current = session else { return }
        let output = current.expire(now: now)
        session = current
        write(output.frames)
        updateSessionStatus()
        if output.peerUnresponsive {
            status.link.linkTimeouts += 1
            logger.error(
                "a frame to the ESP went unacknowledged \(current.configuration.maximumTransmissions) times; resetting it"
            )
            resetESP()
            return
        }
        scheduleSessionTimer()
    }

    private func updateSessionStatus() {
        guard let session else { return }
        let counters = earlierSessions + session.counters
        status.link.retransmissions = counters.retransmitted
        status.link.duplicates = counters.duplicatesReceived
        status.link.rejects = counters.rejectsSent
        if let roundTrip = session.timeout.smoothedRoundTrip {
            status.link.roundTripMilliseconds = Double(roundTrip.nanoseconds) / 1_000_000
        }
    }

    // MARK: - Writing

    /// Writes a message to the ESP. Messages while the link is down are dropped: the handshake
    /// replays all state the ESP needs.
    func send(_ message: LinkMessage, flush: Bool = true) {
        guard espChannel != nil else { return }
        let frame: LinkFrame
        do {
            frame = try message.makeFrame()
        } catch {
            // Callers check sizes first (topics, publishes); this is a last guard, never a crash.
            logger.error("cannot encode \(message.type) for the ESP: \(error)")
            return
        }
        let now = NIODeadline.now()
        if frame.type.isSequenced, session != nil {
            sendSequenced([frame], flush: flush)
        } else {
            session?.noteUnsequencedSent(now: now)
            write([frame], flush: flush)
        }
    }

    /// Queues sequenced frames in the session, back to back (fragments must be consecutive, §8.6),
    /// and writes what the peer's credit lets go now.
    func sendSequenced(_ frames: [LinkFrame], flush: Bool = true) {
        guard espChannel != nil, var current = session else { return }
        let now = NIODeadline.now()
        var released: [LinkFrame] = []
        for frame in frames { released += current.send(frame, now: now) }
        session = current
        write(released, flush: flush)
        scheduleSessionTimer()
    }

    /// Writes frames to the serial channel, flushing once.
    private func write(_ frames: [LinkFrame], flush: Bool = true) {
        guard let channel = espChannel, let last = frames.last else { return }
        status.link.framesOut += frames.count
        for frame in frames.dropLast() { channel.write(frame, promise: nil) }
        // Writes complete in order: the last one tells when all have reached the device (BAUD waits for it).
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.write(last, promise: written)
        lastWrite = written.futureResult
        if flush { channel.flush() }
    }
}

import BridgeLink
import BridgeMQTT
import Logging
import NIOCore

/// The local side: MQTT 3.1.1 clients on the Unix socket.
extension Bridge {
    // MARK: - Connections

    func localConnectionOpened(_ channel: any Channel) -> LocalClientSession {
        let session = LocalClientSession(id: nextConnectionID, channel: channel)
        nextConnectionID += 1
        clients[session.id] = session
        return session
    }

    /// CONNECT: accept the client, taking over an older connection with the same client id
    /// (MQTT 3.1.1 §3.1.4) and resuming its stored session when it asks for clean session 0.
    func localConnect(_ session: LocalClientSession, _ connect: MQTTConnect) {
        var identifier = connect.clientIdentifier
        if identifier.isEmpty {
            guard connect.cleanSession else {
                session.write(.connAck(MQTTConnAck(sessionPresent: false, returnCode: .identifierRejected)))
                logger.info("refused a local client with an empty client id and clean session 0 (MQTT 3.1.1 §3.1.3.1)")
                session.channel.close(promise: nil)
                return
            }
            identifier = "local-\(session.id)"
        }
        if let will = connect.will, will.topic.hasPrefix(Self.localTopicPrefix) {
            logger.warning(
                "local client '\(identifier)' has a will on '\(will.topic)': $bridge/ topics are read-only; refused")
            session.write(.connAck(MQTTConnAck(sessionPresent: false, returnCode: .notAuthorized)))
            session.channel.close(promise: nil)
            return
        }
        if let previous = connectionsByClientIdentifier[identifier], let old = clients[previous] {
            logger.info("local client '\(identifier)' connected again; closing its previous connection")
            // Settled now, so that a persistent session is stored before this connection resumes it.
            localConnectionClosed(old)
            old.channel.close(promise: nil)
        }
        session.clientIdentifier = identifier
        session.cleanSession = connect.cleanSession
        session.will = connect.will
        session.isConnected = true
        connectionsByClientIdentifier[identifier] = session.id
        let resumed = resumeStoredSession(for: session)
        session.write(.connAck(MQTTConnAck(sessionPresent: resumed != nil, returnCode: .accepted)))
        logger.debug("local client \(session.label) connected (clean session \(connect.cleanSession ? 1 : 0))")
        if let resumed { deliverStoredMessages(resumed, to: session) }
    }

    /// DISCONNECT: a clean goodbye, so the will is discarded (MQTT 3.1.1 §3.14.4).
    func localDisconnect(_ session: LocalClientSession) {
        session.will = nil
    }

    func localConnectionClosed(_ session: LocalClientSession) {
        // A connection taken over is settled at the takeover; its close comes later.
        guard clients.removeValue(forKey: session.id) != nil else { return }
        if connectionsByClientIdentifier[session.clientIdentifier] == session.id {
            connectionsByClientIdentifier[session.clientIdentifier] = nil
        }
        retainedReplays.removeClient(session.id)
        session.slowReaderTimer?.cancel()
        session.slowReaderTimer = nil
        let wasConnected = session.isConnected
        session.isConnected = false
        if wasConnected, let will = session.will {
            publishWill(will, of: session)
        }
        if wasConnected, !session.cleanSession {
            storeSession(of: session)
            return
        }
        _ = localTopicSubscriptions.removeClient(session.id)
        for filter in subscriptions.removeClient(session.id) { unsubscribeUpstream(filter) }
        logger.debug("local client \(session.label) gone")
    }

    private func publishWill(_ will: MQTTWill, of session: LocalClientSession) {
        logger.info(
            "local client \(session.label) went away without DISCONNECT; publishing its will to '\(will.topic)' (qos \(will.qos.rawValue)\(will.retain ? ", retained" : ""))"
        )
        if let refusal = publishRefusal(topic: will.topic, payloadLength: will.payload.readableBytes) {
            logger.error("the will of \(session.label) cannot be published: \(refusal)")
            status.traffic.rejected += 1
            return
        }
        status.traffic.willsPublished += 1
        if !forwardUpstream(
            topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, origin: .daemon)
        {
            logger.error("outbound queue full; the will of \(session.label) is dropped")
        }
    }

    // MARK: - Publish

    func localPublish(_ session: LocalClientSession, _ publish: MQTTPublish) {
        if publish.topic.hasPrefix(Self.localTopicPrefix) {
            logger.warning(
                "local client \(session.label) published to '\(publish.topic)': $bridge/ topics are read-only; dropped")
            status.traffic.rejected += 1
            session.acknowledgePublish(packetID: publish.packetId ?? 0, qos: publish.qos)
            return
        }
        if publish.qos == .exactlyOnce, let packetID = publish.packetId {
            // Exactly once toward the client: a copy before PUBREL is the same message (MQTT 3.1.1 §4.3.3).
            switch session.state.receivedQoS2(packetID: packetID) {
            case .forward:
                break
            case .duplicateInTransit:
                logger.debug("local client \(session.label) sent qos 2 packet \(packetID) again; already on its way")
                return
            case .duplicateAcknowledged:
                logger.debug("local client \(session.label) sent qos 2 packet \(packetID) again; the broker has it")
                session.write(.pubRec(MQTTPubRec(packetId: packetID)))
                return
            }
        }
        if let refusal = publishRefusal(topic: publish.topic, payloadLength: publish.payload.readableBytes) {
            logger.error("local client \(session.label): \(refusal); dropped")
            status.traffic.rejected += 1
            session.acknowledgePublish(packetID: publish.packetId ?? 0, qos: publish.qos)
            return
        }
        session.hasPublished = true
        if let packetID = publish.packetId, spool != nil {
            spoolPublish(publish, packetID: packetID, from: session)
            return
        }
        let origin = publish.packetId.map {
            PublishOrigin.client(connection: session.id, packetID: $0, qos: publish.qos)
        }
        guard
            forwardUpstream(
                topic: publish.topic, payload: publish.payload, qos: publish.qos, retain: publish.retain, origin: origin
            )
        else {
            // Cannot happen while reading is paused at capacity; kept as a guard for the invariant.
            logger.error("outbound queue full; closing \(session.label)")
            session.channel.close(promise: nil)
            return
        }
        updateReadingFromClients(publisher: session)
    }

    /// Sends a publish toward the broker: qos 0 at once when there is a path, qos 1 and 2 through the
    /// outbound queue (qos 2 crosses the link as qos 1: the broker sees at-least-once, see README).
    /// - Returns: `false` when the outbound queue is full.
    @discardableResult
    func forwardUpstream(
        topic: String, payload: ByteBuffer, qos: MQTTQoS, retain: Bool, origin: PublishOrigin?
    ) -> Bool {
        guard let origin, qos != .atMostOnce else {
            // qos 0 goes out at once when there is a path, and is counted as dropped when there is none.
            guard linkState == .running, brokerConnected else {
                status.traffic.droppedQoS0 += 1
                return true
            }
            let sent = sendPublish(
                LinkPublish(qos: .atMostOnce, retain: retain, messageID: 0, topic: topic, payload: payload))
            if sent {
                status.traffic.publishedToBroker += 1
                if retain { rememberRetained(topic: topic, payload: payload, qos: qos) }
            } else {
                status.traffic.rejected += 1
            }
            return true
        }
        // A copy: the decoded payload is a slice that would keep the whole receive buffer alive while queued.
        let copy = ByteBuffer(bytes: payload.readableBytesView)
        guard outbound.enqueue(origin: origin, topic: topic, payload: copy, retain: retain) != nil else { return false }
        if retain { rememberRetained(topic: topic, payload: copy, qos: qos) }
        updateReadingFromClients()
        pumpOutbound()
        return true
    }

    func localPubRel(_ session: LocalClientSession, packetID: UInt16) {
        session.state.qos2Released(packetID: packetID)
        session.write(.pubComp(MQTTPubComp(packetId: packetID)))
    }

    func localPubAck(_ session: LocalClientSession, packetID: UInt16) {
        session.state.acknowledged(packetID: packetID)
    }

    // MARK: - Subscribe

    func localSubscribe(_ session: LocalClientSession, _ subscribe: MQTTSubscribe) {
        var returnCodes: [MQTTSubAck.ReturnCode] = []
        var statusFilters: [TopicFilter] = []
        if subscribe.subscriptions.contains(where: { $0.filter.hasPrefix(Self.localTopicPrefix) }) {
            // Before this client is among the subscribers: it gets the current values once, retained.
            refreshStatusTopics(includingCounters: false)
        }
        var servedFromCache: [(TopicFilter, MQTTQoS)] = []
        for subscription in subscribe.subscriptions {
            guard let filter = try? TopicFilter(subscription.filter) else {
                returnCodes.append(.failure)
                continue
            }
            // The link carries qos 0 and 1; qos 2 is granted as 1 (MQTT 3.1.1 §3.9.3 allows a lower grant).
            let granted: MQTTQoS = subscription.qos == .atMostOnce ? .atMostOnce : .atLeastOnce
            returnCodes.append(.granted(granted))
            if subscription.filter.hasPrefix(Self.localTopicPrefix) {
                _ = localTopicSubscriptions.subscribe(session.id, filter: filter, qos: granted)
                statusFilters.append(filter)
            } else {
                _ = subscriptions.subscribe(session.id, filter: filter, qos: granted)
                subscribeUpstream(filter, for: session)
                if !(linkState == .running && brokerConnected) { servedFromCache.append((filter, granted)) }
            }
        }
        session.write(.subAck(MQTTSubAck(packetId: subscribe.packetId, returnCodes: returnCodes)))
        if !statusFilters.isEmpty { sendStatusTopics(matching: statusFilters, to: session) }
        for (filter, qos) in servedFromCache { deliverCachedRetained(matching: filter, qos: qos, to: session) }
    }

    func localUnsubscribe(_ session: LocalClientSession, _ unsubscribe: MQTTUnsubscribe) {
        for text in unsubscribe.filters {
            guard let filter = try? TopicFilter(text) else { continue }
            if text.hasPrefix(Self.localTopicPrefix) {
                _ = localTopicSubscriptions.unsubscribe(session.id, filter: filter)
            } else if subscriptions.unsubscribe(session.id, filter: filter) {
                unsubscribeUpstream(filter)
            }
        }
        session.write(.unsubAck(MQTTUnsubAck(packetId: unsubscribe.packetId)))
    }

    /// No local client (connected or away) holds `filter` any more: the broker subscription goes.
    func unsubscribeUpstream(_ filter: TopicFilter) {
        acknowledgedFilters.remove(filter.description)
        retainedReplays.forget(filter)
        if linkState == .running { send(.unsubscribe(LinkUnsubscribe(filter: filter.description))) }
    }

    // MARK: - From the broker

    /// Delivers a broker message to every matching local client, once each. A message with retain 1
    /// is the broker's retained replay after a (re)subscription: it goes to the clients that asked
    /// for it (`RetainedReplays`); a live one (retain 0, MQTT 3.1.1 §3.3.1.3) to all.
    func routeFromBroker(_ message: LinkIncoming) {
        let messageQoS: MQTTQoS = message.qos == .atMostOnce ? .atMostOnce : .atLeastOnce
        let awaiting: Set<LocalConnectionID>?
        if message.retain {
            rememberRetained(topic: message.topic, payload: message.payload, qos: messageQoS)
            awaiting = retainedReplays.takeRecipients(ofRetained: message.topic)
        } else {
            liveMessageOnCachedTopic(topic: message.topic, payload: message.payload)
            awaiting = nil
        }
        for (connection, subscribed) in subscriptions.recipients(of: message.topic) {
            if let awaiting, !awaiting.contains(connection) { continue }
            let delivery = LocalDelivery(
                topic: message.topic, payload: message.payload, qos: min(subscribed, messageQoS),
                retain: message.retain)
            deliverOrQueue(delivery, to: connection)
        }
    }

    // MARK: - Clients that do not read

    /// A client's unread data passed the high water mark (or fell below the low one again). One
    /// that stays unwritable for `--slow-client-timeout` is disconnected, so that it holds no more
    /// memory and no one waits for it; a persistent session keeps its unacknowledged and queued qos 1
    /// messages for its return. Until then what it holds is bounded by the time and the link's rate
    /// (every message for it comes over the serial line).
    func localWritabilityChanged(_ session: LocalClientSession) {
        guard !session.channel.isWritable else {
            session.slowReaderTimer?.cancel()
            session.slowReaderTimer = nil
            return
        }
        guard session.slowReaderTimer == nil else { return }
        let timeout = configuration.slowClientTimeout
        session.slowReaderTimer = eventLoop.assumeIsolated().scheduleTask(in: .init(timeout)) { [self] in
            session.slowReaderTimer = nil
            guard !session.channel.isWritable, clients[session.id] != nil else { return }
            status.traffic.slowClientsDisconnected += 1
            let unread = (try? session.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
            logger.warning(
                "local client \(session.label) has not read what it was sent for \(timeout) (\(unread) bytes waiting); disconnecting it (--slow-client-timeout)"
            )
            session.channel.close(promise: nil)
        }
    }

    // MARK: - Back-pressure

    /// Why reading from local clients must pause now, or `nil`: what they publish has nowhere to go.
    private var readingPauseReason: String? {
        if let spool {
            if spool.uncommittedCount >= Self.maximumUnwrittenPublishes {
                return "\(spool.uncommittedCount) publishes wait to be written to the spool"
            }
            if let spooling = configuration.spool, spooling.whenFull == .backPressure,
                spool.bytes >= spooling.maximumBytes
            {
                return "the spool is full (\(spool.bytes) of \(spooling.maximumBytes) bytes, --spool-size)"
            }
            return nil
        }
        return outbound.isFull ? "\(outbound.count) publishes (\(outbound.bytes) B) wait for the broker" : nil
    }

    /// Whether reading may go on after a pause: well below the bound that paused it, so that it
    /// does not flap at every message.
    private var readingMayResume: Bool {
        if let spool {
            guard spool.uncommittedCount < Self.maximumUnwrittenPublishes / 2 else { return false }
            guard let spooling = configuration.spool, spooling.whenFull == .backPressure else { return true }
            return spool.bytes < spooling.maximumBytes / 10 * 9
        }
        return outbound.isHalfEmpty
    }

    /// Publishes accepted but not yet on disk before reading pauses: the disk is slower than the
    /// clients, and their acknowledgements wait anyway.
    static let maximumUnwrittenPublishes = 5000

    /// Pauses reading from the local clients that publish while a bound is reached (back-pressure:
    /// publishers wait, nothing is dropped; clients that only subscribe go on), and resumes once
    /// there is room again. `publisher` is the client whose publish was just accepted.
    func updateReadingFromClients(publisher: LocalClientSession? = nil) {
        if !readingPaused, let reason = readingPauseReason {
            readingPaused = true
            status.traffic.readPauses += 1
            logger.warning("\(reason); pausing reads from publishing local clients until there is room")
            for session in clients.values where session.hasPublished && !session.isPaused { pause(session) }
        } else if readingPaused, let publisher, !publisher.isPaused {
            pause(publisher)
        } else if readingPaused, readingMayResume {
            readingPaused = false
            logger.notice("room again; reading from local clients resumes")
            for session in clients.values where session.isPaused {
                session.isPaused = false
                session.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                session.channel.read()
            }
        }
    }

    private func pause(_ session: LocalClientSession) {
        session.isPaused = true
        session.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
    }
}

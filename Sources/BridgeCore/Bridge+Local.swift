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
    /// (MQTT 3.1.1 §3.1.4).
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
        if let previous = connectionsByClientIdentifier[identifier], let old = clients[previous] {
            logger.info("local client '\(identifier)' connected again; closing its previous connection")
            old.channel.close(promise: nil)
        }
        session.clientIdentifier = identifier
        session.isConnected = true
        connectionsByClientIdentifier[identifier] = session.id
        // Sessions are not kept across connections yet, so a session is never present.
        session.write(.connAck(MQTTConnAck(sessionPresent: false, returnCode: .accepted)))
        logger.debug("local client \(session.label) connected")
    }

    func localConnectionClosed(_ session: LocalClientSession) {
        clients[session.id] = nil
        if connectionsByClientIdentifier[session.clientIdentifier] == session.id {
            connectionsByClientIdentifier[session.clientIdentifier] = nil
        }
        _ = localTopicSubscriptions.removeClient(session.id)
        for filter in subscriptions.removeClient(session.id) {
            acknowledgedFilters.remove(filter.description)
            send(.unsubscribe(LinkUnsubscribe(filter: filter.description)))
        }
        logger.debug("local client \(session.label) gone")
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
        if let refusal = publishRefusal(topic: publish.topic, payloadLength: publish.payload.readableBytes) {
            logger.error("local client \(session.label): \(refusal); dropped")
            status.traffic.rejected += 1
            session.acknowledgePublish(packetID: publish.packetId ?? 0, qos: publish.qos)
            return
        }
        guard let packetID = publish.packetId, publish.qos != .atMostOnce else {
            // qos 0 goes out at once when there is a path, and is counted as dropped when there is none.
            guard linkState == .running, brokerConnected else {
                status.traffic.droppedQoS0 += 1
                return
            }
            let sent = sendPublish(
                LinkPublish(
                    qos: .atMostOnce, retain: publish.retain, messageID: 0, topic: publish.topic,
                    payload: publish.payload))
            if sent { status.traffic.publishedToBroker += 1 } else { status.traffic.rejected += 1 }
            return
        }
        // qos 2 crosses the link as qos 1: the broker sees at-least-once (see README).
        let origin = PublishOrigin(connection: session.id, packetID: packetID, qos: publish.qos)
        // A copy: the decoded payload is a slice that would keep the whole receive buffer alive while queued.
        let payload = ByteBuffer(bytes: publish.payload.readableBytesView)
        guard outbound.enqueue(origin: origin, topic: publish.topic, payload: payload, retain: publish.retain) != nil
        else {
            // Cannot happen while reading is paused at capacity; kept as a guard for the invariant.
            logger.error("outbound queue full; closing \(session.label)")
            session.channel.close(promise: nil)
            return
        }
        if outbound.isFull { pauseReadingFromClients() }
        pumpOutbound()
    }

    func localPubRel(_ session: LocalClientSession, packetID: UInt16) {
        session.write(.pubComp(MQTTPubComp(packetId: packetID)))
    }

    // MARK: - Subscribe

    func localSubscribe(_ session: LocalClientSession, _ subscribe: MQTTSubscribe) {
        var returnCodes: [MQTTSubAck.ReturnCode] = []
        var sendStatus = false
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
                sendStatus = sendStatus || filter.matches(Self.statusTopic)
            } else if subscriptions.subscribe(session.id, filter: filter, qos: granted), linkState == .running {
                send(.subscribe(LinkSubscribe(qos: .atLeastOnce, filter: filter.description)))
            }
        }
        session.write(.subAck(MQTTSubAck(packetId: subscribe.packetId, returnCodes: returnCodes)))
        if sendStatus {
            session.deliver(topic: Self.statusTopic, payload: statusPayload(), qos: .atMostOnce, retain: true)
        }
    }

    func localUnsubscribe(_ session: LocalClientSession, _ unsubscribe: MQTTUnsubscribe) {
        for text in unsubscribe.filters {
            guard let filter = try? TopicFilter(text) else { continue }
            if text.hasPrefix(Self.localTopicPrefix) {
                _ = localTopicSubscriptions.unsubscribe(session.id, filter: filter)
            } else if subscriptions.unsubscribe(session.id, filter: filter) {
                acknowledgedFilters.remove(text)
                if linkState == .running { send(.unsubscribe(LinkUnsubscribe(filter: text))) }
            }
        }
        session.write(.unsubAck(MQTTUnsubAck(packetId: unsubscribe.packetId)))
    }

    // MARK: - From the broker

    /// Delivers a broker message to every matching local client, once each.
    func routeFromBroker(_ message: LinkIncoming) {
        let messageQoS: MQTTQoS = message.qos == .atMostOnce ? .atMostOnce : .atLeastOnce
        for (connection, subscribed) in subscriptions.recipients(of: message.topic) {
            let qos = min(subscribed, messageQoS)
            clients[connection]?.deliver(
                topic: message.topic, payload: message.payload, qos: qos, retain: message.retain)
        }
    }

    // MARK: - Back-pressure

    private func pauseReadingFromClients() {
        logger.warning(
            "\(outbound.count) publishes wait for the broker; pausing reads from local clients until it drains")
        for session in clients.values where !session.isPaused {
            session.isPaused = true
            session.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
    }

    func resumePausedClientsIfRoom() {
        guard outbound.count < outbound.capacity / 2 else { return }
        for session in clients.values where session.isPaused {
            session.isPaused = false
            session.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            session.channel.read()
        }
    }
}

import BridgeMQTT
import Logging
import NIOCore

/// Persistent local sessions (clean session 0, MQTT 3.1.1 §3.1.2.4): while the client is away its
/// subscriptions stay (and with them the broker subscriptions) and its qos 1 messages are queued,
/// up to `--session-queue` each. Kept in memory: a restart of the daemon forgets them.
extension Bridge {
    /// A persistent session whose client is away.
    struct StoredSession {
        /// The key its subscriptions keep in the subscription tables meanwhile.
        let subscriptionKey: LocalConnectionID
        var state: LocalSessionState
        var pending: PendingDeliveries
    }

    func storeSession(of session: LocalClientSession) {
        var state = session.state
        state.connectionEnded()
        storedSessions[session.clientIdentifier] = StoredSession(
            subscriptionKey: session.id, state: state,
            pending: PendingDeliveries(capacity: configuration.sessionQueueSize))
        storedSessionKeys[session.id] = session.clientIdentifier
        logger.info(
            "local client \(session.label) left with clean session 0; keeping its session and queuing its qos 1 messages (at most \(configuration.sessionQueueSize), --session-queue)"
        )
    }

    /// CONNECT of `session`: its stored session is resumed (clean session 0) or discarded (clean session 1).
    /// - Returns: the resumed session, whose queued messages go out after CONNACK.
    func resumeStoredSession(for session: LocalClientSession) -> StoredSession? {
        guard let stored = storedSessions.removeValue(forKey: session.clientIdentifier) else { return nil }
        storedSessionKeys[stored.subscriptionKey] = nil
        guard !session.cleanSession else {
            logger.info("local client \(session.label) connected with clean session 1; its stored session is discarded")
            _ = localTopicSubscriptions.removeClient(stored.subscriptionKey)
            for filter in subscriptions.removeClient(stored.subscriptionKey) { unsubscribeUpstream(filter) }
            return nil
        }
        subscriptions.transfer(from: stored.subscriptionKey, to: session.id)
        localTopicSubscriptions.transfer(from: stored.subscriptionKey, to: session.id)
        session.state = stored.state
        return stored
    }

    func deliverStoredMessages(_ stored: StoredSession, to session: LocalClientSession) {
        let unacknowledged = session.state.unacknowledgedCount
        var pending = stored.pending
        let messages = pending.takeAll()
        let dropped = pending.dropped > 0 ? " (\(pending.dropped) dropped: the queue was full)" : ""
        logger.info(
            "local client \(session.label) resumed its session: \(unacknowledged) unacknowledged and \(messages.count) queued messages follow\(dropped)"
        )
        session.redeliverUnacknowledged()
        for message in messages { session.deliver(message) }
    }

    /// qos 1 deliveries a persistent client may leave unacknowledged before it is disconnected.
    static let maximumUnacknowledgedDeliveries = 1000

    /// Delivers to a connected client, or queues qos 1 for a persistent session whose client is away
    /// (qos 0 is not queued, as brokers commonly do).
    func deliverOrQueue(_ delivery: LocalDelivery, to connection: LocalConnectionID) {
        if let client = clients[connection] {
            client.deliver(delivery)
            if client.state.unacknowledgedCount > Self.maximumUnacknowledgedDeliveries, client.channel.isActive {
                // A persistent client that reads but never acknowledges: its session state would
                // grow without end (and its packet ids run out).
                status.traffic.unacknowledgingClientsDisconnected += 1
                logger.warning(
                    "local client \(client.label) has \(client.state.unacknowledgedCount) qos 1 messages unacknowledged; disconnecting it (its session keeps them)"
                )
                client.channel.close(promise: nil)
            }
            return
        }
        guard let identifier = storedSessionKeys[connection], delivery.qos != .atMostOnce else { return }
        guard storedSessions[identifier]?.pending.append(delivery) == false else { return }
        status.traffic.droppedFromSessionQueues += 1
        let dropped = storedSessions[identifier]?.pending.dropped ?? 0
        // One line per 100 drops: a client away for long must not flood the log.
        if dropped % 100 == 1 {
            logger.warning(
                "the session of local client '\(identifier)' holds \(configuration.sessionQueueSize) messages (--session-queue); dropping the oldest (\(dropped) so far)"
            )
        }
    }
}

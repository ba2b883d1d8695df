import BridgeLink
import BridgeMQTT
import Logging
import NIOCore

/// Retained messages for local subscribers, as a broker gives them: the broker's retained replay
/// after each (re)subscription goes to the clients that subscribed, and the host keeps a bounded
/// copy (`RetainedCache`) to serve while the broker cannot be reached.
extension Bridge {
    /// A local client subscribed `filter`: the ESP subscribes it at the broker again, even when it
    /// holds it already, because only a new subscription makes the broker send its retained messages
    /// (MQTT 3.1.1 §3.8.4); live ones carry retain 0 and cannot refresh a cache.
    func subscribeUpstream(_ filter: TopicFilter, for session: LocalClientSession) {
        if linkState == .running, brokerConnected {
            retainedReplays.subscribing(filter, for: [session.id])
        } else {
            // The handshake or the broker reconnection subscribes every filter again; this client
            // waits for that one.
            retainedReplays.join(filter, client: session.id)
        }
        // The ESP keeps its set of filters even without a broker connection (§5.7).
        if linkState == .running { send(.subscribe(LinkSubscribe(qos: .atLeastOnce, filter: filter.description))) }
    }

    /// SUBACK from the broker (granted or not): the retained messages of that SUBSCRIBE follow it.
    func brokerAcknowledgedSubscription(_ text: String) {
        guard let filter = try? TopicFilter(text) else { return }
        replayTimers.removeValue(forKey: filter)?.cancel()
        guard retainedReplays.acknowledged(filter) else { return }
        replayTimers[filter] = eventLoop.assumeIsolated().scheduleTask(in: .init(configuration.retainedReplayGrace)) {
            [self] in
            replayTimers[filter] = nil
            retainedReplays.finishReplay(filter)
        }
    }

    /// The retained message of `topic` is now `payload` at the broker (empty: cleared).
    func rememberRetained(topic: String, payload: ByteBuffer, qos: MQTTQoS) {
        let evicted = retainedCache.store(topic: topic, payload: payload, qos: qos)
        guard !evicted.isEmpty else { return }
        logger.warning(
            "retained cache full (\(configuration.retainedCacheMessages) messages, \(configuration.retainedCacheBytes) bytes); evicted \(evicted.count): \(evicted.prefix(3).joined(separator: ", "))\(evicted.count > 3 ? ", …" : "")"
        )
    }

    /// A live message may or may not have replaced the retained one of its topic (retain is 0 on
    /// live messages either way): a cached copy that differs from it is no longer known to be right.
    func liveMessageOnCachedTopic(topic: String, payload: ByteBuffer) {
        guard let cached = retainedCache.message(for: topic), cached.payload != payload else { return }
        retainedCache.remove(topic)
    }

    /// Serves the cached retained messages matching `filter` (while the broker cannot be reached).
    func deliverCachedRetained(matching filter: TopicFilter, qos: MQTTQoS, to session: LocalClientSession) {
        let cached = retainedCache.matching(filter)
        guard !cached.isEmpty else { return }
        logger.debug(
            "broker not reachable; serving \(cached.count) cached retained messages for '\(filter)' to \(session.label)"
        )
        for message in cached {
            session.deliver(topic: message.topic, payload: message.payload, qos: min(qos, message.qos), retain: true)
        }
    }
}

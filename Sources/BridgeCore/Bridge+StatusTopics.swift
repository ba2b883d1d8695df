import BridgeMQTT
import NIOCore

/// The daemon's own `$bridge/…` topics: `$bridge/status` (the whole status) and the parts in
/// ``StatusTopic``. A new subscriber gets each topic its filter matches at once, retained; after
/// that a topic goes out (retain 0, MQTT 3.1.1 §3.3.1.3) only when its part changed. The
/// counters change with every frame, so they go out on a timer instead.
extension Bridge {
    /// How often the counters go out (when they changed); the same timer catches any other part
    /// that changed without a `publishStatus()` (such as the ESP's free heap from STATS).
    static let statusTopicRefreshInterval = TimeAmount.seconds(5)

    /// Refreshes the status topics now and then every ``statusTopicRefreshInterval``, so that
    /// every topic has a value before the first subscriber comes.
    func startStatusTopicRefresh() {
        statusTopicTimer?.cancel()
        refreshStatusTopics(includingCounters: true)
        statusTopicTimer = eventLoop.assumeIsolated().scheduleTask(in: Self.statusTopicRefreshInterval) { [self] in
            startStatusTopicRefresh()
        }
    }

    func stopStatusTopicRefresh() {
        statusTopicTimer?.cancel()
        statusTopicTimer = nil
    }

    /// Sends each status topic whose part changed to its subscribers; the counters only when
    /// `includingCounters`.
    func refreshStatusTopics(includingCounters: Bool) {
        let topics = StatusTopic.allCases.filter { includingCounters || $0 != .counters }
        for (topic, payload) in statusTopicTracker.changes(in: currentStatus, among: topics) {
            deliverToLocalTopicSubscribers(topic: topic.name, payload: ByteBuffer(bytes: payload))
        }
    }

    /// A live change: qos 0 is enough, as the next change carries the whole part again.
    func deliverToLocalTopicSubscribers(topic: String, payload: ByteBuffer) {
        for (connection, _) in localTopicSubscriptions.recipients(of: topic) {
            clients[connection]?.deliver(topic: topic, payload: payload, qos: .atMostOnce, retain: false)
        }
    }

    /// New subscriptions to `filters`: the current value of every `$bridge/…` topic they match,
    /// once each, with retain 1, as a broker sends retained messages. Call
    /// ``refreshStatusTopics`` first, so that what the new subscriber gets is what the others have.
    func sendStatusTopics(matching filters: [TopicFilter], to session: LocalClientSession) {
        func wanted(_ topic: String) -> Bool { filters.contains { $0.matches(topic) } }
        if wanted(Self.statusTopic) {
            session.deliver(topic: Self.statusTopic, payload: statusPayload(), qos: .atMostOnce, retain: true)
        }
        let status = currentStatus
        for topic in StatusTopic.allCases where wanted(topic.name) {
            // The counters too as they are now, for this client only: the others get them at the next refresh.
            let payload = ByteBuffer(bytes: topic.payload(of: status))
            session.deliver(topic: topic.name, payload: payload, qos: .atMostOnce, retain: true)
        }
    }
}

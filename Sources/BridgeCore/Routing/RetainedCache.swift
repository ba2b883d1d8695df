import BridgeMQTT
import DequeModule
import NIOCore

/// The broker's retained messages as the host last learned them: from the broker's retained
/// replays (messages that arrive with retain 1) and from local retained publishes.
///
/// Bounded by a number of messages and a number of bytes (topic + payload); when full, the
/// message stored longest ago is evicted. An empty payload clears a topic, as at a broker
/// (MQTT 3.1.1 §3.3.1.3). Pure data: the bridge decides what to store and when to serve.
public struct RetainedCache: Sendable {
    public struct Message: Sendable, Equatable {
        public let topic: String
        public let payload: ByteBuffer
        public let qos: MQTTQoS

        var size: Int { topic.utf8.count + payload.readableBytes }
    }

    public let maximumMessages: Int
    public let maximumBytes: Int
    public private(set) var totalBytes = 0
    /// Messages evicted to stay within the bounds, since start.
    public private(set) var evictions = 0

    private var messages: [String: (message: Message, stamp: UInt64)] = [:]
    /// Store order for eviction; stale stamps (the topic was stored again or removed) are skipped.
    private var storeOrder: Deque<(topic: String, stamp: UInt64)> = []
    private var nextStamp: UInt64 = 0

    public init(maximumMessages: Int, maximumBytes: Int) {
        precondition(maximumMessages >= 0 && maximumBytes >= 0)
        self.maximumMessages = maximumMessages
        self.maximumBytes = maximumBytes
    }

    public var count: Int { messages.count }

    public func message(for topic: String) -> Message? { messages[topic]?.message }

    /// Stores the retained message of `topic`, or forgets it when `payload` is empty.
    /// - Returns: the topics evicted to make room.
    @discardableResult
    public mutating func store(topic: String, payload: ByteBuffer, qos: MQTTQoS) -> [String] {
        remove(topic)
        guard payload.readableBytes > 0 else { return [] }
        // A copy: a slice of a receive buffer would keep the whole buffer alive.
        let message = Message(topic: topic, payload: ByteBuffer(bytes: payload.readableBytesView), qos: qos)
        guard message.size <= maximumBytes, maximumMessages > 0 else {
            evictions += 1
            return [topic]
        }
        var evicted: [String] = []
        while messages.count >= maximumMessages || totalBytes + message.size > maximumBytes {
            guard let oldest = storeOrder.popFirst() else { break }
            guard messages[oldest.topic]?.stamp == oldest.stamp else { continue }
            remove(oldest.topic)
            evictions += 1
            evicted.append(oldest.topic)
        }
        messages[topic] = (message, nextStamp)
        storeOrder.append((topic, nextStamp))
        nextStamp += 1
        totalBytes += message.size
        compactStoreOrderIfSparse()
        return evicted
    }

    /// Forgets the retained message of `topic`, if any.
    public mutating func remove(_ topic: String) {
        guard let old = messages.removeValue(forKey: topic) else { return }
        totalBytes -= old.message.size
    }

    /// The stored messages whose topics match `filter`, by topic.
    public func matching(_ filter: TopicFilter) -> [Message] {
        messages.values.map(\.message).filter { filter.matches($0.topic) }.sorted { $0.topic < $1.topic }
    }

    /// Keeps `storeOrder` from growing with stale entries when the same topics are stored again and again.
    private mutating func compactStoreOrderIfSparse() {
        guard storeOrder.count > 2 * messages.count + 64 else { return }
        storeOrder = Deque(storeOrder.filter { messages[$0.topic]?.stamp == $0.stamp })
    }
}

/// The host's choice of topic ids for its PUBLISH frames (§8.7), for one link session.
///
/// Policy (firmware-protocol.md §8.7, "The host's topic ids"):
/// - a topic gets an id when it is published again within ``reuseWindow`` publishes of its
///   previous use (4 × the ESP's `max_topics`): one-off topics never cost a REGISTER;
/// - free ids (1 … `max_topics`) go first; when none is free, the least recently used id is
///   replaced, but only when it has not been used within ``reuseWindow`` publishes. So a set of
///   topics a little larger than the table does not churn: the ids stay with the topics that
///   have them and the others go by name. A round robin over more than ``reuseWindow`` topics
///   never qualifies at all;
/// - topics longer than ``maximumTopicLength`` bytes always go by name.
///
/// Time is counted in publishes, not seconds, so the policy does not depend on the load. Pure
/// data: the caller sends REGISTER when told, before the PUBLISH that uses the id, and calls
/// ``reset()`` at every new session (ids live for one session).
public struct TopicIDAssigner: Sendable {
    /// How a topic goes out.
    public enum Choice: Hashable, Sendable {
        /// As its name (`str16`).
        case name
        /// As the id it already has.
        case id(UInt16)
        /// As a new id: send REGISTER for it first (it may replace another topic's id).
        case register(UInt16)
    }

    private struct Registration: Sendable {
        var topic: String
        var lastUse: UInt64
    }

    /// Ids available: the ESP's `max_topics`.
    public let capacity: Int
    /// The longest topic, in bytes, that gets an id.
    public let maximumTopicLength: Int
    /// Publishes within which a topic counts as reused, and an id as still in use.
    public let reuseWindow: UInt64

    private var clock: UInt64 = 0
    private var idsByTopic: [String: UInt16] = [:]
    private var registrations: [UInt16: Registration] = [:]
    /// Last use of topics without an id, kept only for ``reuseWindow`` publishes.
    private var recentTopics: [String: UInt64] = [:]
    /// Topics the ESP refused an id for.
    private var excludedTopics: Set<String> = []

    /// - Parameters:
    ///   - capacity: the ESP's `max_topics` (0: no ids at all); ids are 1 … `capacity`.
    ///   - maximumTopicLength: the longest topic the ESP takes in a REGISTER.
    public init(capacity: Int, maximumTopicLength: Int) {
        self.capacity = max(0, min(capacity, Int(UInt16.max)))
        self.maximumTopicLength = maximumTopicLength
        self.reuseWindow = UInt64(4 * max(self.capacity, 1))
    }

    /// Topics that have an id now.
    public var count: Int { registrations.count }

    /// The topic id `id` stands for now, if any.
    public func topic(for id: UInt16) -> String? { registrations[id]?.topic }

    /// Decides how the next publish to `topic` goes out, and records the use.
    public mutating func choose(for topic: String) -> Choice {
        clock += 1
        if let id = idsByTopic[topic] {
            registrations[id]!.lastUse = clock
            return .id(id)
        }
        let length = topic.utf8.count
        guard capacity > 0, length >= 1, length <= maximumTopicLength, !excludedTopics.contains(topic) else {
            return .name
        }
        if let previous = recentTopics[topic], clock - previous <= reuseWindow, let id = takeID() {
            recentTopics[topic] = nil
            idsByTopic[topic] = id
            registrations[id] = Registration(topic: topic, lastUse: clock)
            return .register(id)
        }
        recentTopics[topic] = clock
        if UInt64(recentTopics.count) > reuseWindow {
            recentTopics = recentTopics.filter { clock - $0.value <= reuseWindow }
        }
        return .name
    }

    /// Forgets the id of `topic` and sends it by name for the rest of the session: the ESP
    /// refused it.
    public mutating func exclude(_ topic: String) {
        excludedTopics.insert(topic)
        recentTopics[topic] = nil
        guard let id = idsByTopic.removeValue(forKey: topic) else { return }
        registrations[id] = nil
    }

    /// Forgets every id: a new session starts (§8.7: ids are per session).
    public mutating func reset() {
        idsByTopic.removeAll()
        registrations.removeAll()
        recentTopics.removeAll()
        excludedTopics.removeAll()
        clock = 0
    }

    /// A free id, or the least recently used one when it has been idle for the whole window.
    private mutating func takeID() -> UInt16? {
        if registrations.count < capacity {
            return (1...UInt16(capacity)).first { registrations[$0] == nil }
        }
        guard let (id, oldest) = registrations.min(by: { $0.value.lastUse < $1.value.lastUse }),
            clock - oldest.lastUse > reuseWindow
        else { return nil }
        idsByTopic[oldest.topic] = nil
        registrations[id] = nil
        return id
    }
}

import BridgeMQTT

/// Identifies one local client connection for the lifetime of the daemon.
public typealias LocalConnectionID = UInt64

/// The local clients' subscriptions, and the broker subscriptions they add up to.
///
/// Each distinct filter string held by at least one client is one broker subscription (at qos 1,
/// the most the link carries, so that every local qos can be served). A broker subscription is
/// dropped only when the last client holding that filter lets go of it.
/// Pure data: no I/O; the bridge turns the returned changes into link messages.
public struct SubscriptionTable: Sendable {
    private var byClient: [LocalConnectionID: [TopicFilter: MQTTQoS]] = [:]
    private var holders: [TopicFilter: Int] = [:]

    public init() {}

    /// The filters the broker should be subscribed to.
    public var upstreamFilters: [TopicFilter] { Array(holders.keys) }

    /// Whether some client holds `filter`, so that the broker should be subscribed to it.
    public func isUpstream(_ filter: TopicFilter) -> Bool { holders[filter] != nil }

    /// Number of (client, filter) pairs.
    public var count: Int { byClient.values.reduce(0) { $0 + $1.count } }

    /// Adds or updates a client's subscription.
    /// - Returns: `true` when the filter is new upstream and must be subscribed at the broker.
    public mutating func subscribe(_ client: LocalConnectionID, filter: TopicFilter, qos: MQTTQoS) -> Bool {
        let isNewForClient = byClient[client, default: [:]].updateValue(qos, forKey: filter) == nil
        guard isNewForClient else { return false }
        holders[filter, default: 0] += 1
        return holders[filter] == 1
    }

    /// Removes one subscription of a client.
    /// - Returns: `true` when no client holds the filter any more and the broker subscription must go.
    public mutating func unsubscribe(_ client: LocalConnectionID, filter: TopicFilter) -> Bool {
        guard byClient[client]?.removeValue(forKey: filter) != nil else { return false }
        if byClient[client]?.isEmpty == true { byClient[client] = nil }
        return release(filter)
    }

    /// Removes every subscription of a client that went away.
    /// - Returns: the filters no client holds any more.
    public mutating func removeClient(_ client: LocalConnectionID) -> [TopicFilter] {
        guard let filters = byClient.removeValue(forKey: client) else { return [] }
        return filters.keys.filter { release($0) }
    }

    /// Moves a client's subscriptions to another key (a persistent session on a new connection).
    /// The broker subscriptions do not change.
    public mutating func transfer(from old: LocalConnectionID, to new: LocalConnectionID) {
        guard old != new, let filters = byClient.removeValue(forKey: old) else { return }
        for filter in byClient[new, default: [:]].keys where filters[filter] != nil {
            _ = release(filter)
        }
        byClient[new, default: [:]].merge(filters) { _, moved in moved }
    }

    /// A client's qos for `filter`, when it holds it.
    public func qos(of client: LocalConnectionID, for filter: TopicFilter) -> MQTTQoS? {
        byClient[client]?[filter]
    }

    /// Who receives a message on `topic`: each matching client once, at the highest qos among its
    /// matching subscriptions (MQTT 3.1.1 §3.3.5 allows either; once per client is what users expect).
    public func recipients(of topic: String) -> [(client: LocalConnectionID, qos: MQTTQoS)] {
        var result: [(client: LocalConnectionID, qos: MQTTQoS)] = []
        for (client, filters) in byClient {
            var best: MQTTQoS?
            for (filter, qos) in filters where filter.matches(topic) {
                best = max(best ?? qos, qos)
            }
            if let best { result.append((client, best)) }
        }
        return result
    }

    private mutating func release(_ filter: TopicFilter) -> Bool {
        guard let count = holders[filter] else { return false }
        if count <= 1 {
            holders[filter] = nil
            return true
        }
        holders[filter] = count - 1
        return false
    }
}

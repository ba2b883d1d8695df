import BridgeMQTT
import DequeModule

/// Which local clients wait for the retained messages the broker sends after a (re)subscription.
///
/// Every local SUBSCRIBE makes the ESP subscribe the filter at the broker again, and the broker then
/// sends the retained messages matching it with retain 1 (MQTT 3.1.1 §3.8.4), after its SUBACK. Those
/// are for the clients that just subscribed, not for those that held a matching subscription before
/// (they already had them). Nothing marks the end of such a replay, so it ends when the broker
/// acknowledges the next SUBSCRIBE of the same filter (the broker answers in order) or after a grace
/// period the bridge times. Pure data.
public struct RetainedReplays: Sendable {
    /// SUBSCRIBEs sent for a filter and not yet acknowledged: the clients of each, oldest first.
    private var waiting: [TopicFilter: Deque<Set<LocalConnectionID>>] = [:]
    /// Replays in progress: acknowledged, and retained messages may still be arriving.
    private var replaying: [TopicFilter: Replay] = [:]

    private struct Replay {
        var clients: Set<LocalConnectionID>
        /// Topics each client got in this replay: overlapping replays of other filters (another
        /// client's SUBSCRIBE) bring the same retained messages again.
        var delivered: [LocalConnectionID: Set<String>] = [:]
    }

    public init() {}

    /// A SUBSCRIBE of `filter` goes to the broker for `clients`.
    public mutating func subscribing(_ filter: TopicFilter, for clients: Set<LocalConnectionID>) {
        waiting[filter, default: []].append(clients)
    }

    /// Adds `client` to the newest SUBSCRIBE of `filter` still waiting for its acknowledgement, or
    /// waits for the next one (the link is down: the handshake subscribes every filter again).
    public mutating func join(_ filter: TopicFilter, client: LocalConnectionID) {
        guard var queue = waiting[filter], let newest = queue.popLast() else {
            subscribing(filter, for: [client])
            return
        }
        queue.append(newest.union([client]))
        waiting[filter] = queue
    }

    /// No client holds `filter` any more: no replay of it matters.
    public mutating func forget(_ filter: TopicFilter) {
        waiting[filter] = nil
        replaying[filter] = nil
    }

    /// The broker acknowledged a SUBSCRIBE of `filter`: the replay of the oldest one starts and the
    /// previous replay of that filter is over.
    /// - Returns: whether a replay started (and should be timed).
    public mutating func acknowledged(_ filter: TopicFilter) -> Bool {
        guard var queue = waiting[filter], let clients = queue.popFirst() else {
            replaying[filter] = nil
            return false
        }
        waiting[filter] = queue.isEmpty ? nil : queue
        replaying[filter] = Replay(clients: clients)
        return true
    }

    /// The grace period of a replay ran out.
    public mutating func finishReplay(_ filter: TopicFilter) {
        replaying[filter] = nil
    }

    /// The link or the broker connection restarted: every waiting filter is subscribed once more,
    /// so the SUBSCRIBEs of each collapse into one.
    public mutating func resubscribingAll() {
        for (filter, queue) in waiting {
            waiting[filter] = [queue.reduce(into: Set()) { $0.formUnion($1) }]
        }
    }

    public mutating func removeClient(_ client: LocalConnectionID) {
        for filter in Array(waiting.keys) {
            let queue = Deque(waiting[filter]!.map { $0.subtracting([client]) })
            waiting[filter] = queue
        }
        for filter in Array(replaying.keys) {
            replaying[filter]!.clients.remove(client)
            replaying[filter]!.delivered[client] = nil
        }
    }

    /// The clients a retained message on `topic` is for: those replaying a matching filter that
    /// have not had `topic` in that replay yet. They are noted as having had it.
    public mutating func takeRecipients(ofRetained topic: String) -> Set<LocalConnectionID> {
        let matching = replaying.keys.filter { $0.matches(topic) }
        var result: Set<LocalConnectionID> = []
        for filter in matching {
            let replay = replaying[filter]!
            for client in replay.clients where replay.delivered[client]?.contains(topic) != true {
                result.insert(client)
            }
        }
        for filter in matching {
            for client in replaying[filter]!.clients where result.contains(client) {
                replaying[filter]!.delivered[client, default: []].insert(topic)
            }
        }
        return result
    }
}

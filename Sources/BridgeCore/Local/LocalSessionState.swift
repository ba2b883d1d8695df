import BridgeMQTT
import DequeModule
import NIOCore

/// A message on its way to a local client.
public struct LocalDelivery: Sendable, Equatable {
    public let topic: String
    public let payload: ByteBuffer
    public let qos: MQTTQoS
    public let retain: Bool

    public init(topic: String, payload: ByteBuffer, qos: MQTTQoS, retain: Bool) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

/// What MQTT 3.1.1 calls a client's session state on the server (§4.1), apart from its
/// subscriptions: packet ids, qos 1 deliveries not yet acknowledged, qos 2 publishes received.
/// It outlives the connection when the client connected with clean session 0. Pure data.
public struct LocalSessionState: Sendable {
    private var nextPacketID: UInt16 = 1
    /// qos 1 deliveries sent and not acknowledged, by packet id, with their send order.
    private var unacknowledged: [UInt16: (order: UInt64, delivery: LocalDelivery)] = [:]
    private var nextOrder: UInt64 = 0
    /// qos 2 publishes from the client by packet id, until its PUBREL: `true` once the broker has
    /// them and PUBREC was sent, `false` while they travel.
    private var receivedQoS2: [UInt16: Bool] = [:]

    public init() {}

    public var unacknowledgedCount: Int { unacknowledged.count }

    /// A packet id for a delivery, never one still waiting for its acknowledgement.
    public mutating func allocatePacketID() -> UInt16 {
        repeat {
            let id = nextPacketID
            nextPacketID = nextPacketID == UInt16.max ? 1 : nextPacketID + 1
            if unacknowledged[id] == nil { return id }
        } while true
    }

    /// Remembers a qos 1 delivery until the client acknowledges it, to send it again after a reconnect.
    public mutating func sent(_ delivery: LocalDelivery, packetID: UInt16) {
        unacknowledged[packetID] = (nextOrder, delivery)
        nextOrder += 1
    }

    public mutating func acknowledged(packetID: UInt16) {
        unacknowledged[packetID] = nil
    }

    /// The unacknowledged deliveries in the order they were first sent, with their packet ids
    /// (MQTT-4.4.0-1: re-sent with the original ids).
    public var unacknowledgedInOrder: [(packetID: UInt16, delivery: LocalDelivery)] {
        unacknowledged.sorted { $0.value.order < $1.value.order }.map { ($0.key, $0.value.delivery) }
    }

    /// What to do with a qos 2 PUBLISH from the client.
    public enum QoS2Arrival: Equatable, Sendable {
        /// New: forward it.
        case forward
        /// A copy of one still travelling to the broker: drop it, PUBREC follows.
        case duplicateInTransit
        /// A copy of one the broker has: drop it and send PUBREC again.
        case duplicateAcknowledged
    }

    public mutating func receivedQoS2(packetID: UInt16) -> QoS2Arrival {
        switch receivedQoS2[packetID] {
        case nil:
            receivedQoS2[packetID] = false
            return .forward
        case false?: return .duplicateInTransit
        case true?: return .duplicateAcknowledged
        }
    }

    /// The broker has the qos 2 publish with this id (PUBREC is being sent).
    public mutating func qos2Acknowledged(packetID: UInt16) {
        if receivedQoS2[packetID] != nil { receivedQoS2[packetID] = true }
    }

    /// PUBREL: the client's qos 2 flow for this id is over.
    public mutating func qos2Released(packetID: UInt16) {
        receivedQoS2[packetID] = nil
    }

    /// The connection ends: publishes still travelling will not answer this session, so a copy the
    /// client sends again after reconnecting is forwarded again (upstream qos 2 is at least once).
    public mutating func connectionEnded() {
        receivedQoS2 = receivedQoS2.filter { $0.value }
    }
}

/// The qos 1 and 2 messages kept for a persistent session while its client is away. Bounded:
/// when full the oldest is dropped (and counted), so the client finds the latest ones.
public struct PendingDeliveries: Sendable {
    public let capacity: Int
    public private(set) var messages: Deque<LocalDelivery> = []
    /// Messages dropped because the queue was full, since the session was stored.
    public private(set) var dropped = 0

    public init(capacity: Int) {
        precondition(capacity >= 0)
        self.capacity = capacity
    }

    public var count: Int { messages.count }

    /// Queues a message. - Returns: `false` when one had to be dropped for it.
    @discardableResult
    public mutating func append(_ delivery: LocalDelivery) -> Bool {
        guard capacity > 0 else {
            dropped += 1
            return false
        }
        var dropped = false
        while messages.count >= capacity {
            messages.removeFirst()
            self.dropped += 1
            dropped = true
        }
        messages.append(delivery)
        return !dropped
    }

    public mutating func takeAll() -> [LocalDelivery] {
        defer { messages.removeAll() }
        return Array(messages)
    }
}

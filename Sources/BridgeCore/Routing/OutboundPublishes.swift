import DequeModule
import NIOCore

/// The qos 1 publishes the daemon holds for the broker, from acceptance until the ESP reports the
/// broker's PUBACK. Pure data: the bridge decides when to send.
///
/// Bounded by count and by payload bytes. Each publish gets a link message id (firmware-protocol.md §5.6). At most `limit` are in flight
/// on the link (the ESP's `max_inflight`); the rest wait in acceptance order. Publishes sent but not
/// acknowledged go back to the front of the queue, in their original order, when the ESP restarts
/// or the broker connection drops.
public struct OutboundPublishes<Origin: Sendable>: Sendable {
    public struct Entry: Sendable {
        public let messageID: UInt16
        public let origin: Origin
        public let topic: String
        public let payload: ByteBuffer
        public let retain: Bool
        fileprivate let order: UInt64
    }

    private var entries: [UInt16: Entry] = [:]
    private var waiting: Deque<UInt16> = []
    private var inFlight: Set<UInt16> = []
    private var nextMessageID: UInt16 = 1
    private var nextOrder: UInt64 = 0
    public let capacity: Int
    public let maximumBytes: Int
    /// Topic and payload bytes held.
    public private(set) var bytes = 0

    public init(capacity: Int, maximumBytes: Int = .max) {
        precondition(capacity > 0 && capacity < Int(UInt16.max))
        self.capacity = capacity
        self.maximumBytes = maximumBytes
    }

    public var count: Int { entries.count }
    public var inFlightCount: Int { inFlight.count }
    public var isFull: Bool { entries.count >= capacity || bytes >= maximumBytes }
    /// At most half full by both bounds: room to take a batch again after being full.
    public var isHalfEmpty: Bool { entries.count <= capacity / 2 && bytes <= maximumBytes / 2 }

    /// Whether the publish with this id was sent and awaits its PUBACK.
    public func isInFlight(_ messageID: UInt16) -> Bool { inFlight.contains(messageID) }

    /// Accepts a publish. Returns its message id, or `nil` when the queue is full.
    public mutating func enqueue(origin: Origin, topic: String, payload: ByteBuffer, retain: Bool) -> UInt16? {
        guard !isFull else { return nil }
        let id = allocateMessageID()
        entries[id] = Entry(
            messageID: id, origin: origin, topic: topic, payload: payload, retain: retain, order: nextOrder)
        nextOrder += 1
        bytes += topic.utf8.count + payload.readableBytes
        waiting.append(id)
        return id
    }

    /// Moves waiting publishes into flight while fewer than `limit` are in flight.
    /// - Returns: the publishes to send now, in order.
    public mutating func takeSendable(limit: Int) -> [Entry] {
        var batch: [Entry] = []
        while inFlight.count < limit, let id = waiting.popFirst() {
            inFlight.insert(id)
            batch.append(entries[id]!)
        }
        return batch
    }

    /// Settles a publish (the broker acknowledged it, or it can never be sent).
    /// - Returns: the entry, or `nil` for an unknown id (a late duplicate PUBACK).
    public mutating func settle(_ messageID: UInt16) -> Entry? {
        guard let entry = entries.removeValue(forKey: messageID) else { return nil }
        bytes -= entry.topic.utf8.count + entry.payload.readableBytes
        if inFlight.remove(messageID) == nil, let index = waiting.firstIndex(of: messageID) {
            waiting.remove(at: index)
        }
        return entry
    }

    /// Takes out the oldest publish not in flight whose origin `droppable` accepts (to make room
    /// under a drop-oldest policy).
    public mutating func dropOldestWaiting(where droppable: (Origin) -> Bool) -> Entry? {
        guard let id = waiting.first(where: { droppable(entries[$0]!.origin) }) else { return nil }
        return settle(id)
    }

    /// Puts one in-flight publish back in the queue (the ESP was offline or busy).
    public mutating func retry(_ messageID: UInt16) {
        guard inFlight.remove(messageID) != nil else { return }
        insertInOrder([messageID])
    }

    /// Puts every in-flight publish back in the queue (new link epoch, broker reconnect).
    public mutating func retryAllInFlight() {
        let ids = Array(inFlight)
        inFlight.removeAll()
        insertInOrder(ids)
    }

    private mutating func insertInOrder(_ ids: [UInt16]) {
        let merged = (Array(waiting) + ids).sorted { entries[$0]!.order < entries[$1]!.order }
        waiting = Deque(merged)
    }

    private mutating func allocateMessageID() -> UInt16 {
        // Ids are never 0 (qos 0 uses 0) and never one still held.
        repeat {
            let id = nextMessageID
            nextMessageID = nextMessageID == UInt16.max ? 1 : nextMessageID + 1
            if entries[id] == nil { return id }
        } while true
    }
}

import NIOCore
import Testing

@testable import BridgeCore

@Suite struct OutboundPublishesTests {
    private func enqueue(_ queue: inout OutboundPublishes<Int>, _ origin: Int) -> UInt16? {
        queue.enqueue(origin: origin, topic: "t/\(origin)", payload: ByteBuffer(string: "\(origin)"), retain: false)
    }

    @Test func sendsInOrderWithinTheInFlightLimit() {
        var queue = OutboundPublishes<Int>(capacity: 10)
        for origin in 1...5 { _ = enqueue(&queue, origin) }
        #expect(queue.takeSendable(limit: 2).map(\.origin) == [1, 2])
        #expect(queue.takeSendable(limit: 2).isEmpty, "two already in flight")
        let first = queue.settle(1)
        #expect(first?.origin == 1)
        #expect(queue.takeSendable(limit: 2).map(\.origin) == [3])
        #expect(queue.count == 4)
    }

    @Test func retriedPublishesGoBackInTheirOriginalOrder() {
        var queue = OutboundPublishes<Int>(capacity: 10)
        let ids = (1...4).compactMap { enqueue(&queue, $0) }
        _ = queue.takeSendable(limit: 3)  // 1, 2, 3 in flight
        queue.retry(ids[1])
        #expect(queue.takeSendable(limit: 3).map(\.origin) == [2])
        queue.retryAllInFlight()
        #expect(queue.inFlightCount == 0)
        #expect(queue.takeSendable(limit: 10).map(\.origin) == [1, 2, 3, 4])
    }

    @Test func refusesBeyondCapacityAndNeverReusesAHeldID() {
        var queue = OutboundPublishes<Int>(capacity: 3)
        let ids = (1...3).compactMap { enqueue(&queue, $0) }
        #expect(Set(ids).count == 3 && !ids.contains(0))
        #expect(queue.isFull)
        #expect(enqueue(&queue, 4) == nil)
        _ = queue.settle(ids[0])
        #expect(enqueue(&queue, 5).map { ids.contains($0) } == false)
        #expect(queue.settle(999) == nil, "an unknown id is a late duplicate")
    }

    @Test func isFullByBytesTooAndDropsTheOldestNotInFlight() {
        // Each entry: "t/N" (3 bytes) + "N" (1 byte).
        var queue = OutboundPublishes<Int>(capacity: 100, maximumBytes: 12)
        for origin in 1...2 { _ = enqueue(&queue, origin) }
        #expect(!queue.isFull && queue.bytes == 8)
        _ = enqueue(&queue, 3)
        #expect(queue.isFull, "12 bytes held")
        _ = queue.takeSendable(limit: 1)  // 1 in flight
        #expect(queue.dropOldestWaiting(where: { $0 != 2 })?.origin == 3, "2 may not be dropped")
        #expect(queue.bytes == 8 && !queue.isFull)
        #expect(queue.isHalfEmpty == false)
        #expect(queue.dropOldestWaiting(where: { _ in true })?.origin == 2)
        #expect(queue.dropOldestWaiting(where: { _ in true }) == nil, "only the one in flight is left")
        #expect(queue.isHalfEmpty)
    }
}

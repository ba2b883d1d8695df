import BridgeMQTT
import Testing

@testable import BridgeCore

@Suite struct SubscriptionTableTests {
    private func filter(_ text: String) throws -> TopicFilter { try TopicFilter(text) }

    @Test func firstHolderSubscribesUpstreamAndLastHolderUnsubscribes() throws {
        var table = SubscriptionTable()
        #expect(table.subscribe(1, filter: try filter("a/#"), qos: .atLeastOnce))
        #expect(!table.subscribe(2, filter: try filter("a/#"), qos: .atMostOnce))
        #expect(!table.subscribe(1, filter: try filter("a/#"), qos: .atMostOnce), "re-subscribing only updates qos")
        #expect(table.upstreamFilters.map(\.description) == ["a/#"])
        #expect(!table.unsubscribe(1, filter: try filter("a/#")))
        #expect(table.unsubscribe(2, filter: try filter("a/#")))
        #expect(table.upstreamFilters.isEmpty)
        #expect(!table.unsubscribe(2, filter: try filter("a/#")), "unsubscribing twice changes nothing")
    }

    @Test func removingAClientReleasesOnlyFiltersNobodyElseHolds() throws {
        var table = SubscriptionTable()
        _ = table.subscribe(1, filter: try filter("a/+"), qos: .atLeastOnce)
        _ = table.subscribe(1, filter: try filter("b/#"), qos: .atLeastOnce)
        _ = table.subscribe(2, filter: try filter("b/#"), qos: .atLeastOnce)
        #expect(table.removeClient(1).map(\.description) == ["a/+"])
        #expect(table.upstreamFilters.map(\.description) == ["b/#"])
        #expect(table.count == 1)
    }

    @Test func overlappingFiltersYieldEachClientOnceAtItsHighestQoS() throws {
        var table = SubscriptionTable()
        _ = table.subscribe(1, filter: try filter("a/#"), qos: .atMostOnce)
        _ = table.subscribe(1, filter: try filter("a/+/c"), qos: .atLeastOnce)
        _ = table.subscribe(2, filter: try filter("a/b/c"), qos: .atMostOnce)
        _ = table.subscribe(3, filter: try filter("x/#"), qos: .atLeastOnce)
        let recipients = table.recipients(of: "a/b/c").sorted { $0.client < $1.client }
        #expect(recipients.map(\.client) == [1, 2])
        #expect(recipients.map(\.qos) == [.atLeastOnce, .atMostOnce])
        #expect(table.recipients(of: "a/x").map(\.client) == [1])
        #expect(table.recipients(of: "$SYS/a").isEmpty, "wildcards do not match $ topics")
    }
}

@Suite struct SubscriptionTableTransferTests {
    @Test func aTransferMovesSubscriptionsWithoutChangingTheBrokerOnes() throws {
        var table = SubscriptionTable()
        let filter = try TopicFilter("s/#")
        let newUpstream = table.subscribe(1, filter: filter, qos: .atLeastOnce)
        let alreadyUpstream = table.subscribe(2, filter: filter, qos: .atMostOnce)
        #expect(newUpstream && !alreadyUpstream)
        table.transfer(from: 1, to: 3)
        #expect(table.upstreamFilters.map(\.description) == ["s/#"])
        #expect(table.qos(of: 3, for: filter) == .atLeastOnce)
        #expect(table.qos(of: 1, for: filter) == nil)
        let freedBySecond = table.removeClient(2)
        let freedByMoved = table.removeClient(3)
        #expect(freedBySecond.isEmpty)
        #expect(freedByMoved.map(\.description) == ["s/#"], "the moved holder counts once")
    }
}

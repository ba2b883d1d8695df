import BridgeMQTT
import NIOCore
import Testing

@testable import BridgeCore

@Suite struct LocalSessionStateTests {
    private func delivery(_ n: Int, qos: MQTTQoS = .atLeastOnce) -> LocalDelivery {
        LocalDelivery(topic: "t/\(n)", payload: ByteBuffer(string: "\(n)"), qos: qos, retain: false)
    }

    @Test func aFullQueueDropsTheOldestAndCountsThem() {
        var queue = PendingDeliveries(capacity: 2)
        let result1 = queue.append(delivery(1))
        #expect(result1)
        let result2 = queue.append(delivery(2))
        #expect(result2)
        let result3 = queue.append(delivery(3))
        #expect(!result3)
        let result4 = queue.append(delivery(4))
        #expect(!result4)
        #expect(queue.dropped == 2)
        #expect(queue.takeAll().map(\.topic) == ["t/3", "t/4"])
        #expect(queue.count == 0)
    }

    @Test func aQueueOfCapacityZeroKeepsNothing() {
        var queue = PendingDeliveries(capacity: 0)
        let result5 = queue.append(delivery(1))
        #expect(!result5)
        #expect(queue.count == 0 && queue.dropped == 1)
    }

    @Test func unacknowledgedDeliveriesComeBackInSendOrderWithTheirPacketIDs() {
        var state = LocalSessionState()
        var ids: [UInt16] = []
        for n in 0..<3 {
            let id = state.allocatePacketID()
            ids.append(id)
            state.sent(delivery(n), packetID: id)
        }
        state.acknowledged(packetID: ids[1])
        let again = state.unacknowledgedInOrder
        #expect(again.map(\.packetID) == [ids[0], ids[2]])
        #expect(again.map(\.delivery.topic) == ["t/0", "t/2"])
    }

    @Test func packetIDsSkipThoseStillUnacknowledgedAndNeverZero() {
        var state = LocalSessionState()
        state.sent(delivery(0), packetID: state.allocatePacketID())  // holds id 1
        var seen: Set<UInt16> = []
        for _ in 0..<Int(UInt16.max) { seen.insert(state.allocatePacketID()) }
        #expect(!seen.contains(0))
        #expect(!seen.contains(1), "id 1 waits for its PUBACK")
    }

    @Test func aQoS2PublishRepeatedBeforePubRelIsForwardedOnce() {
        var state = LocalSessionState()
        let result101 = state.receivedQoS2(packetID: 7)
        #expect(result101 == .forward)
        let result102 = state.receivedQoS2(packetID: 7)
        #expect(result102 == .duplicateInTransit)
        state.qos2Acknowledged(packetID: 7)
        let result103 = state.receivedQoS2(packetID: 7)
        #expect(result103 == .duplicateAcknowledged)
        state.qos2Released(packetID: 7)
        let result104 = state.receivedQoS2(packetID: 7)
        #expect(result104 == .forward, "after PUBREL the id is free again")
    }

    @Test func publishesStillTravellingAreForgottenWhenTheConnectionEnds() {
        var state = LocalSessionState()
        _ = state.receivedQoS2(packetID: 1)
        _ = state.receivedQoS2(packetID: 2)
        state.qos2Acknowledged(packetID: 2)
        state.connectionEnded()
        let result105 = state.receivedQoS2(packetID: 1)
        #expect(result105 == .forward)
        let result106 = state.receivedQoS2(packetID: 2)
        #expect(result106 == .duplicateAcknowledged)
    }
}

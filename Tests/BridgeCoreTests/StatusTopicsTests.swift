import Foundation
import Testing

@testable import BridgeCore

@Suite struct StatusTopicsTests {
    private func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func eachTopicCarriesItsOwnPart() throws {
        var status = BridgeStatus()
        status.link.state = "running"
        status.link.device = "/dev/serial0"
        status.link.baudRate = 921_600
        status.link.framesIn = 7
        status.broker.state = "connected"
        status.broker.reason = "ok"
        status.wifi.state = "up"
        status.wifi.rssi = -60
        status.esp.freeHeap = 12_000
        status.traffic.publishedToBroker = 3

        let link = try object(StatusTopic.link.payload(of: status))
        #expect(Set(link.keys) == ["state", "device", "baudRate", "detail"], "no counters in \(link)")
        #expect(link["baudRate"] as? Int == 921_600)
        let broker = try object(StatusTopic.broker.payload(of: status))
        #expect(broker["connected"] as? Bool == true)
        #expect(broker["reason"] as? String == "ok")
        #expect(try object(StatusTopic.wifi.payload(of: status))["rssi"] as? Int == -60)
        #expect(try object(StatusTopic.esp.payload(of: status))["freeHeap"] as? Int == 12_000)
        let counters = try object(StatusTopic.counters.payload(of: status))
        #expect((counters["link"] as? [String: Any])?["framesIn"] as? Int == 7)
        #expect((counters["traffic"] as? [String: Any])?["publishedToBroker"] as? Int == 3)
        #expect((counters["link"] as? [String: Any])?["state"] == nil)
    }

    @Test func brokerNotConnectedUnlessItsStateSaysSo() throws {
        var status = BridgeStatus()
        status.broker.state = "connecting"
        #expect(try object(StatusTopic.broker.payload(of: status))["connected"] as? Bool == false)
    }

    @Test func aTopicGoesOutOnlyWhenItsPartChanged() {
        var tracker = StatusTopicTracker()
        var status = BridgeStatus()
        let all = StatusTopic.allCases
        #expect(tracker.changes(in: status, among: all).map(\.0) == all, "everything is new at first")
        #expect(tracker.changes(in: status, among: all).isEmpty)

        status.link.framesIn += 1
        status.wifi.state = "down"
        #expect(tracker.changes(in: status, among: all).map(\.0) == [.wifi, .counters])

        // Counters left out are not forgotten: they go out at the next refresh that includes them.
        status.link.bytesIn += 10
        #expect(tracker.changes(in: status, among: [.link, .wifi, .broker, .esp]).isEmpty)
        let later = tracker.changes(in: status, among: all)
        #expect(later.map(\.0) == [.counters])
        #expect(later.first?.1 == StatusTopic.counters.payload(of: status))
        #expect(tracker.current[.counters] == StatusTopic.counters.payload(of: status))
    }
}

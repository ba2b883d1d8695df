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

    @Test func timeGoesOutWhenTheSynchronisationChangesNotAsTheClockRuns() throws {
        var tracker = StatusTopicTracker()
        var status = BridgeStatus()
        status.time.state = "synced"
        status.time.server = "pool.ntp.org:123"
        status.time.time = "2026-11-27T10:00:00.000Z"
        status.time.lastSync = "2026-11-27T09:59:59Z"
        status.time.secondsSinceSync = 1
        status.time.hostOffsetSeconds = 0.004
        #expect(tracker.changes(in: status, among: [.time]).map(\.0) == [.time])
        let time = try object(StatusTopic.time.payload(of: status))
        #expect(time["time"] as? String == "2026-11-27T10:00:00.000Z")
        #expect(time["hostOffsetSeconds"] as? Double == 0.004)
        #expect(time["server"] as? String == "pool.ntp.org:123")

        status.time.time = "2026-11-27T10:00:10.000Z"
        status.time.secondsSinceSync = 11
        status.time.hostOffsetSeconds = 0.005
        #expect(tracker.changes(in: status, among: [.time]).isEmpty, "the clock ran, nothing else changed")
        status.time.syncFailures = 1
        status.time.reason = "no answer"
        #expect(tracker.changes(in: status, among: [.time]).map(\.0) == [.time])
        status.time.lastSync = "2026-11-27T11:00:00Z"
        let changed = tracker.changes(in: status, among: [.time])
        #expect(changed.map(\.0) == [.time])
        #expect(changed.first?.1 == StatusTopic.time.payload(of: status), "the payload has the clock as it is now")
    }

    @Test func timeFieldsAbsentUntilKnown() throws {
        let time = try object(StatusTopic.time.payload(of: BridgeStatus()))
        #expect(Set(time.keys) == ["state", "server", "time", "lastSync", "syncFailures", "reason"])
        #expect(time["state"] as? String == "off")
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

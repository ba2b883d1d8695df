import ArgumentParser
import BridgeCore
import BridgeMQTT
import Foundation
import NIOCore

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the state of the link, the ESP, its WiFi and the broker connection.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(help: "Print the raw JSON status.")
    var json = false

    func run() async throws {
        let client = LocalMQTTClient(options: connection)
        let topic = "$bridge/status"
        let payload = try await withTimeout(seconds: connection.timeout, "mqttbridged sent no status") {
            try await client.withSession { inbound, outbound in
                try await outbound.write(
                    .subscribe(
                        MQTTSubscribe(packetId: 1, subscriptions: [MQTTSubscription(filter: topic, qos: .atMostOnce)])))
                while true {
                    if case .publish(let publish) = try await client.next(&inbound), publish.topic == topic {
                        return Array(buffer: publish.payload)
                    }
                }
            }
        }
        if json {
            print(String(decoding: payload, as: UTF8.self))
            return
        }
        print(StatusReport.text(try StatusEncoding.decode(payload)))
    }
}

/// The status as a person reads it.
enum StatusReport {
    static func text(_ status: BridgeStatus) -> String {
        let link = status.link
        let esp = status.esp
        let traffic = status.traffic
        var lines = [
            "link:    \(link.state) on \(link.device) at \(link.baudRate) baud",
            "         frames in/out \(link.framesIn)/\(link.framesOut), bytes in/out \(link.bytesIn)/\(link.bytesOut), "
                + "round trip \(roundTrip(link.roundTripMilliseconds))",
            "         CRC errors \(link.crcErrors), framing errors \(link.framingErrors), resyncs \(link.resyncs), "
                + "retransmissions \(link.retransmissions), duplicates \(link.duplicates), rejects \(link.rejects)",
            "         resets \(link.resets), HELLO timeouts \(link.helloTimeouts), link timeouts \(link.linkTimeouts)",
        ]
        lines.append(
            "         baud fallbacks \(link.baudFallbacks), topic ids \(link.topicIDs) "
                + "(\(link.topicRegistrations) registrations), fragments in/out \(link.fragmentsIn)/\(link.fragmentsOut)"
        )
        if !link.detail.isEmpty { lines.append("         \(link.detail)") }
        if esp.software.isEmpty {
            lines.append("esp:     not heard from yet")
        } else {
            lines.append(
                "esp:     \(esp.software), link protocol \(esp.protocolVersion), boot \(esp.bootCount), "
                    + "reset reason: \(esp.resetReason), free heap \(esp.freeHeap) B, up \(esp.uptime) s")
        }
        lines.append("         READY \(esp.ready), fell \(esp.readyDrops) times by itself")
        var wifi = "wifi:    \(status.wifi.state)"
        if status.wifi.state == "up" { wifi += ", \(status.wifi.address), RSSI \(status.wifi.rssi) dBm" }
        if !status.wifi.reason.isEmpty { wifi += " (\(status.wifi.reason))" }
        lines.append(wifi)
        var broker = "broker:  \(status.broker.state) (\(status.broker.address))"
        if !status.broker.reason.isEmpty {
            broker += ": \(status.broker.reason)"
        } else if !status.broker.lastReason.isEmpty {
            broker += " (last reason: \(status.broker.lastReason))"
        }
        lines.append(broker)
        lines.append(timeLine(status.time))
        lines.append(
            "local:   \(traffic.localClients) clients, \(traffic.localSubscriptions) subscriptions "
                + "(\(traffic.brokerSubscriptions) at the broker), \(traffic.pendingPublishes) publishes pending")
        lines.append(
            "traffic: \(traffic.publishedToBroker) published, \(traffic.receivedFromBroker) received, "
                + "\(traffic.droppedQoS0) qos 0 dropped, \(traffic.rejected) rejected, "
                + "\(traffic.droppedFromBroker) from the broker dropped")
        lines.append(
            "mqtt:    \(traffic.retainedCached) retained cached (\(traffic.retainedEvicted) evicted), "
                + "\(traffic.willsPublished) wills published, \(traffic.storedSessions) sessions away holding "
                + "\(traffic.queuedForSessions) messages (\(traffic.droppedFromSessionQueues) dropped)")
        lines.append(spoolLine(status.spool))
        return lines.joined(separator: "\n")
    }

    private static func spoolLine(_ spool: BridgeStatus.Spool) -> String {
        guard spool.enabled else { return "spool:   none (--no-spool): accepted publishes are in memory only" }
        var line =
            "spool:   \(spool.messages) messages, \(spool.bytes) of \(spool.maximumBytes) bytes in \(spool.directory)"
            + "\(spool.full ? " (full: \(spool.whenFull))" : ""), \(spool.dropped) dropped, "
            + "\(spool.commits) commits for \(spool.committedMessages) messages"
        if !spool.lastError.isEmpty { line += "; cannot write: \(spool.lastError)" }
        return line
    }

    /// The ESP's clock, the host's only wall-clock time.
    static func timeLine(_ time: BridgeStatus.Time) -> String {
        let failures = "\(time.syncFailures) failed attempt\(time.syncFailures == 1 ? "" : "s")"
        switch time.state {
        case "off":
            return "time:    off (mqttbridged --ntp-server none)"
        case "unsupported":
            return "time:    the firmware has no NTP; no time from \(time.server)"
        case "synced":
            var line = "time:    \(time.time) (ESP clock, UTC) from \(time.server)"
            if let age = time.secondsSinceSync { line += ", synced \(age) s ago" }
            if let offset = time.hostOffsetSeconds {
                line += "; host clock \(String(format: "%+.3f", offset)) s off (ESP − host)"
            }
            if !time.reason.isEmpty { line += "; last attempt: \(time.reason) (\(failures))" }
            return line
        default:
            let why = time.reason.isEmpty ? "no answer yet" : "\(time.reason) (\(failures))"
            return "time:    not synced from \(time.server): \(why)"
        }
    }

    private static func roundTrip(_ milliseconds: Double) -> String {
        milliseconds > 0 ? "\((milliseconds * 10).rounded() / 10) ms" : "not measured yet"
    }
}

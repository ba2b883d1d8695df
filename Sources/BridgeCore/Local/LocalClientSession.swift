import BridgeMQTT
import NIOCore

/// One local MQTT client connection, as the bridge sees it. Lives on the bridge's event loop.
final class LocalClientSession {
    let id: LocalConnectionID
    let channel: any Channel
    var clientIdentifier = ""
    var isConnected = false
    /// Reading paused because the outbound queue is full (back-pressure, not dropping).
    var isPaused = false
    private var nextPacketID: UInt16 = 1

    init(id: LocalConnectionID, channel: any Channel) {
        self.id = id
        self.channel = channel
    }

    /// A label for log lines: the client id once known, else the connection number.
    var label: String { clientIdentifier.isEmpty ? "connection #\(id)" : "'\(clientIdentifier)'" }

    func write(_ packet: MQTTPacket) {
        channel.writeAndFlush(packet, promise: nil)
    }

    /// Sends a message to this client at `qos`.
    func deliver(topic: String, payload: ByteBuffer, qos: MQTTQoS, retain: Bool) {
        guard isConnected else { return }
        var packetID: UInt16?
        if qos != .atMostOnce {
            packetID = nextPacketID
            nextPacketID = nextPacketID == UInt16.max ? 1 : nextPacketID + 1
        }
        write(.publish(MQTTPublish(topic: topic, payload: payload, qos: qos, retain: retain, packetId: packetID)))
    }

    /// The broker took the client's publish: finish the client's qos 1 (PUBACK) or qos 2 (PUBREC) flow.
    func acknowledgePublish(packetID: UInt16, qos: MQTTQoS) {
        guard isConnected, channel.isActive else { return }
        switch qos {
        case .atMostOnce: return
        case .atLeastOnce: write(.pubAck(MQTTPubAck(packetId: packetID)))
        case .exactlyOnce: write(.pubRec(MQTTPubRec(packetId: packetID)))
        }
    }
}

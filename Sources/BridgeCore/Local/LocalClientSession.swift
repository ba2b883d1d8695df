import BridgeMQTT
import NIOCore

/// One local MQTT client connection, as the bridge sees it. Lives on the bridge's event loop.
final class LocalClientSession {
    let id: LocalConnectionID
    let channel: any Channel
    var clientIdentifier = ""
    var isConnected = false
    /// Reading paused because what it publishes has nowhere to go yet (back-pressure, not dropping).
    var isPaused = false
    /// It has published: reads from it pause under back-pressure; a subscriber's go on.
    var hasPublished = false
    /// Ends the connection of a client that does not read what it is sent (`localWritabilityChanged`).
    var slowReaderTimer: Scheduled<Void>?
    /// From CONNECT; published upstream when the connection ends without DISCONNECT (MQTT 3.1.1 §3.1.2.5).
    var will: MQTTWill?
    /// Clean session 0 keeps `state` and the subscriptions after the connection (§3.1.2.4).
    var cleanSession = true
    var state = LocalSessionState()

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
        deliver(LocalDelivery(topic: topic, payload: payload, qos: qos, retain: retain))
    }

    func deliver(_ delivery: LocalDelivery) {
        guard isConnected else { return }
        var packetID: UInt16?
        if delivery.qos != .atMostOnce {
            let id = state.allocatePacketID()
            packetID = id
            // Only a persistent session sends unacknowledged ones again, so only it keeps them.
            if !cleanSession { state.sent(delivery, packetID: id) }
        }
        write(
            .publish(
                MQTTPublish(
                    topic: delivery.topic, payload: delivery.payload, qos: delivery.qos, retain: delivery.retain,
                    packetId: packetID)))
    }

    /// Sends the deliveries a previous connection of this session left unacknowledged (MQTT-4.4.0-1).
    func redeliverUnacknowledged() {
        for (packetID, delivery) in state.unacknowledgedInOrder {
            write(
                .publish(
                    MQTTPublish(
                        topic: delivery.topic, payload: delivery.payload, qos: delivery.qos, retain: delivery.retain,
                        dup: true, packetId: packetID)))
        }
    }

    /// The broker took the client's publish: finish the client's qos 1 (PUBACK) or qos 2 (PUBREC) flow.
    func acknowledgePublish(packetID: UInt16, qos: MQTTQoS) {
        if qos == .exactlyOnce { state.qos2Acknowledged(packetID: packetID) }
        guard isConnected, channel.isActive else { return }
        switch qos {
        case .atMostOnce: return
        case .atLeastOnce: write(.pubAck(MQTTPubAck(packetId: packetID)))
        case .exactlyOnce: write(.pubRec(MQTTPubRec(packetId: packetID)))
        }
    }
}

import BridgeMQTT
import FuzzSupport
import NIOCore

/// The seed corpus: every packet type alone, and every packet a client sends in one stream.
extension FuzzMQTT {
    /// Control bytes of the seeds: the default largest packet, read 1 or 16 bytes at a time.
    private static let byByte: UInt8 = 0x00
    private static let inReads: UInt8 = 0x0F

    static var seeds: [FuzzSeed] {
        var seeds: [FuzzSeed] = []
        for (index, packet) in samplePackets.enumerated() {
            // Numbered, so that the seeds list in order.
            let name = "\(index < 10 ? "0" : "")\(index)-\(packet.type.description.lowercased())"
            seeds.append(FuzzSeed(name: name, bytes: [inReads] + encode([packet])))
        }
        // What a client sends: the filters and topics meet in the matching check.
        let session = samplePackets.filter { $0.type.isFromClient }
        seeds.append(FuzzSeed(name: "session", bytes: [inReads] + encode(session)))
        seeds.append(FuzzSeed(name: "session-by-byte", bytes: [byByte] + encode(session)))
        return seeds
    }

    /// Every packet type, with the optional fields both present and absent.
    private static let samplePackets: [MQTTPacket] = [
        .connect(MQTTConnect(clientIdentifier: "sensor-1")),
        .connect(MQTTConnect(clientIdentifier: "", keepAlive: 0)),
        .connect(
            MQTTConnect(
                clientIdentifier: "kitchen", cleanSession: false, keepAlive: 30,
                will: MQTTWill(
                    topic: "clients/kitchen", payload: ByteBuffer(string: "gone"), qos: .atLeastOnce,
                    retain: true),
                username: "pi", password: ByteBuffer(bytes: [0, 0xFF]))),
        .connAck(MQTTConnAck(sessionPresent: true, returnCode: .accepted)),
        .publish(MQTTPublish(topic: "home/kitchen/temp", payload: ByteBuffer(string: "21.5"))),
        .publish(
            MQTTPublish(
                topic: "$bridge/x/é", payload: ByteBuffer(bytes: [0, 1, 2]), qos: .exactlyOnce, retain: true, dup: true,
                packetId: 7)),
        .pubAck(MQTTPubAck(packetId: 7)),
        .pubRec(MQTTPubRec(packetId: 8)),
        .pubRel(MQTTPubRel(packetId: 8)),
        .subscribe(
            MQTTSubscribe(
                packetId: 1,
                subscriptions: [
                    MQTTSubscription(filter: "home/+/temp", qos: .atLeastOnce), MQTTSubscription(filter: "#"),
                    MQTTSubscription(filter: "$bridge/#", qos: .exactlyOnce),
                ])),
        .subAck(MQTTSubAck(packetId: 1, returnCodes: [.granted(.atLeastOnce), .failure])),
        .unsubscribe(MQTTUnsubscribe(packetId: 2, filters: ["home/+/temp", "/"])),
        .unsubAck(MQTTUnsubAck(packetId: 2)),
        .pubComp(MQTTPubComp(packetId: 8)),
        .pingReq,
        .pingResp,
        .disconnect,
    ]

    private static func encode(_ packets: [MQTTPacket]) -> [UInt8] {
        var buffer = ByteBuffer()
        for packet in packets {
            try! packet.write(into: &buffer)
        }
        return Array(buffer.readableBytesView)
    }
}

extension MQTTPacketType {
    fileprivate var isFromClient: Bool {
        switch self {
        case .connect, .publish, .pubAck, .pubRec, .pubRel, .pubComp, .subscribe, .unsubscribe, .pingReq, .disconnect:
            true
        case .connAck, .subAck, .unsubAck, .pingResp: false
        }
    }
}

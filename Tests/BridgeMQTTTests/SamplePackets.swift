import BridgeMQTT
import NIOCore

/// One packet of every type, plus the variants each type's fields allow, for round-trip tests.
enum SamplePackets {
    static let all: [MQTTPacket] = {
        var packets: [MQTTPacket] = [
            .connect(MQTTConnect(clientIdentifier: "sensor-1")),
            .connect(MQTTConnect(clientIdentifier: "", cleanSession: true, keepAlive: 0)),
            .connect(
                MQTTConnect(
                    clientIdentifier: "pi-kitchen",
                    cleanSession: false,
                    keepAlive: 65_535,
                    will: MQTTWill(
                        topic: "clients/pi-kitchen",
                        payload: ByteBuffer(string: "gone"),
                        qos: .exactlyOnce,
                        retain: true
                    ),
                    username: "alice",
                    password: ByteBuffer(bytes: [0x00, 0xFF, 0x10])
                )
            ),
            .connect(MQTTConnect(clientIdentifier: "u", username: "only-a-user")),
            .connect(
                MQTTConnect(
                    clientIdentifier: "w",
                    will: MQTTWill(topic: "w", payload: ByteBuffer(), qos: .atMostOnce, retain: false)
                )
            ),
            .connAck(MQTTConnAck(sessionPresent: true, returnCode: .accepted)),
            .publish(MQTTPublish(topic: "sensors/temp", payload: ByteBuffer(string: "21.5"))),
            .publish(MQTTPublish(topic: "/", payload: ByteBuffer(), qos: .atMostOnce, retain: true)),
            .publish(
                MQTTPublish(topic: "a/b", payload: ByteBuffer(string: "x"), qos: .atLeastOnce, dup: true, packetId: 1)
            ),
            .publish(
                MQTTPublish(
                    topic: "température/salon",
                    payload: ByteBuffer(string: "19 °C"),
                    qos: .exactlyOnce,
                    retain: true,
                    packetId: 65_535
                )
            ),
            .publish(
                MQTTPublish(
                    topic: "$SYS/broker/uptime",
                    payload: ByteBuffer(repeating: 0xAB, count: 200_000),
                    qos: .atLeastOnce,
                    packetId: 7
                )
            ),
            .pubAck(MQTTPubAck(packetId: 1)),
            .pubRec(MQTTPubRec(packetId: 2)),
            .pubRel(MQTTPubRel(packetId: 3)),
            .pubComp(MQTTPubComp(packetId: 65_535)),
            .subAck(
                MQTTSubAck(
                    packetId: 9,
                    returnCodes: [.granted(.atMostOnce), .granted(.atLeastOnce), .granted(.exactlyOnce), .failure]
                )
            ),
            .unsubAck(MQTTUnsubAck(packetId: 10)),
            .pingReq,
            .pingResp,
            .disconnect,
        ]
        for code in MQTTConnAck.ReturnCode.allCases where code != .accepted {
            packets.append(.connAck(MQTTConnAck(sessionPresent: false, returnCode: code)))
        }
        packets.append(
            .subscribe(
                MQTTSubscribe(
                    packetId: 8,
                    subscriptions: [
                        MQTTSubscription(filter: "sport/+/player1", qos: .atLeastOnce),
                        MQTTSubscription(filter: "#", qos: .atMostOnce),
                        MQTTSubscription(filter: "$SYS/#", qos: .exactlyOnce),
                    ]
                )
            )
        )
        packets.append(
            .unsubscribe(MQTTUnsubscribe(packetId: 11, filters: ["sport/#", "+"]))
        )
        return packets
    }()
}

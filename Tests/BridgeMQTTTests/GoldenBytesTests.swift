import NIOCore
import Testing

@testable import BridgeMQTT

/// Byte sequences written by real clients (mosquitto_pub / mosquitto_sub 2.0.11 over `--unix`, captured on this
/// machine) or copied from the spec's examples, checked field by field.
@Suite("Known-good bytes")
struct GoldenBytesTests {
    @Test("mosquitto_pub -i mosq-pub -t sensors/temp -m 21.5: CONNECT, PUBLISH, DISCONNECT")
    func mosquittoPubQoS0() throws {
        let capture = bytes(
            """
            10 14 00 04 4d 51 54 54 04 02 00 3c 00 08 6d 6f 73 71 2d 70 75 62
            30 12 00 0c 73 65 6e 73 6f 72 73 2f 74 65 6d 70 32 31 2e 35
            e0 00
            """
        )
        let packets = try decodeAll(capture)
        #expect(
            packets == [
                .connect(MQTTConnect(clientIdentifier: "mosq-pub", cleanSession: true, keepAlive: 60)),
                .publish(MQTTPublish(topic: "sensors/temp", payload: ByteBuffer(string: "21.5"))),
                .disconnect,
            ]
        )
        #expect(try decodeDripFed(capture) == packets)
        // Our encoder produces the same bytes mosquitto did.
        var reencoded = ByteBuffer()
        for packet in packets { try packet.write(into: &reencoded) }
        #expect(reencoded == capture)
    }

    @Test("mosquitto_pub with will, user name, password, retain and keep-alive 30")
    func mosquittoPubWithWillAndCredentials() throws {
        // mosquitto_pub -i pub1 -t a/b -m hi -r -u alice -P secret
        //   --will-topic clients/pub1 --will-payload gone --will-qos 1 --will-retain -k 30
        let capture = bytes(
            """
            10 33 00 04 4d 51 54 54 04 ee 00 1e 00 04 70 75 62 31
            00 0c 63 6c 69 65 6e 74 73 2f 70 75 62 31 00 04 67 6f 6e 65
            00 05 61 6c 69 63 65 00 06 73 65 63 72 65 74
            31 07 00 03 61 2f 62 68 69
            e0 00
            """
        )
        let packets = try decodeAll(capture)
        let expectedConnect = MQTTConnect(
            clientIdentifier: "pub1",
            cleanSession: true,
            keepAlive: 30,
            will: MQTTWill(topic: "clients/pub1", payload: ByteBuffer(string: "gone"), qos: .atLeastOnce, retain: true),
            username: "alice",
            password: ByteBuffer(string: "secret")
        )
        #expect(
            packets == [
                .connect(expectedConnect),
                .publish(MQTTPublish(topic: "a/b", payload: ByteBuffer(string: "hi"), retain: true)),
                .disconnect,
            ]
        )
        #expect(try encode(.connect(expectedConnect)) == capture.getSlice(at: 0, length: 0x35))
    }

    @Test("mosquitto_pub -q 1: PUBLISH with packet identifier 1")
    func mosquittoPubQoS1() throws {
        let capture = bytes("32 16 00 10 73 65 6e 73 6f 72 73 2f 68 75 6d 69 64 69 74 79 00 01 34 30")
        #expect(
            try decodeAll(capture) == [
                .publish(
                    MQTTPublish(
                        topic: "sensors/humidity",
                        payload: ByteBuffer(string: "40"),
                        qos: .atLeastOnce,
                        packetId: 1
                    )
                )
            ]
        )
    }

    @Test("mosquitto_sub -t 'sport/+/player1' -t 'sensors/#' -q 1: one SUBSCRIBE with two filters")
    func mosquittoSubscribe() throws {
        let capture = bytes(
            """
            82 20 00 01 00 0f 73 70 6f 72 74 2f 2b 2f 70 6c 61 79 65 72 31 01
            00 09 73 65 6e 73 6f 72 73 2f 23 01
            """
        )
        let expected = MQTTPacket.subscribe(
            MQTTSubscribe(
                packetId: 1,
                subscriptions: [
                    MQTTSubscription(filter: "sport/+/player1", qos: .atLeastOnce),
                    MQTTSubscription(filter: "sensors/#", qos: .atLeastOnce),
                ]
            )
        )
        #expect(try decodeAll(capture) == [expected])
        #expect(try encode(expected) == capture)
    }

    @Test("mosquitto_sub -c -U 'old/#': CONNECT without clean session, UNSUBSCRIBE")
    func mosquittoUnsubscribe() throws {
        let capture = bytes(
            """
            10 10 00 04 4d 51 54 54 04 00 00 3c 00 04 73 75 62 32
            82 08 00 01 00 03 61 2f 62 02
            a2 09 00 02 00 05 6f 6c 64 2f 23
            """
        )
        #expect(
            try decodeAll(capture) == [
                .connect(MQTTConnect(clientIdentifier: "sub2", cleanSession: false, keepAlive: 60)),
                .subscribe(
                    MQTTSubscribe(packetId: 1, subscriptions: [MQTTSubscription(filter: "a/b", qos: .exactlyOnce)])
                ),
                .unsubscribe(MQTTUnsubscribe(packetId: 2, filters: ["old/#"])),
            ]
        )
    }

    @Test(
        "server-side packets a client receives",
        arguments: [
            ("20 02 00 00", MQTTPacket.connAck(MQTTConnAck(sessionPresent: false, returnCode: .accepted))),
            ("20 02 01 00", .connAck(MQTTConnAck(sessionPresent: true, returnCode: .accepted))),
            ("20 02 00 05", .connAck(MQTTConnAck(sessionPresent: false, returnCode: .notAuthorized))),
            ("40 02 00 01", .pubAck(MQTTPubAck(packetId: 1))),
            ("50 02 12 34", .pubRec(MQTTPubRec(packetId: 0x1234))),
            ("62 02 00 01", .pubRel(MQTTPubRel(packetId: 1))),
            ("70 02 ff ff", .pubComp(MQTTPubComp(packetId: 0xFFFF))),
            (
                "90 05 00 01 00 02 80",
                .subAck(
                    MQTTSubAck(packetId: 1, returnCodes: [.granted(.atMostOnce), .granted(.exactlyOnce), .failure])
                )
            ),
            ("b0 02 00 02", .unsubAck(MQTTUnsubAck(packetId: 2))),
            ("c0 00", .pingReq),
            ("d0 00", .pingResp),
            ("e0 00", .disconnect),
        ]
    )
    func shortPackets(hex: String, expected: MQTTPacket) throws {
        #expect(try decodeAll(bytes(hex)) == [expected])
        #expect(try encode(expected) == bytes(hex))
    }

    /// The spec's Table 2.4: the boundaries of each remaining-length size.
    @Test(
        "remaining length encodes as in the spec's table",
        arguments: [
            (0, "00"), (127, "7f"), (128, "80 01"), (16_383, "ff 7f"), (16_384, "80 80 01"),
            (2_097_151, "ff ff 7f"), (2_097_152, "80 80 80 01"), (268_435_455, "ff ff ff 7f"),
        ]
    )
    func remainingLength(value: Int, hex: String) throws {
        var written = ByteBuffer()
        written.writeMQTTRemainingLength(value)
        #expect(written == bytes(hex))
        #expect(MQTTFixedHeader.remainingLengthSize(value) == written.readableBytes)

        var header = ByteBuffer(integer: UInt8(0x30))
        header.writeBuffer(&written)
        let parsed = try #require(try MQTTFixedHeader.peek(in: header))
        #expect(parsed.remainingLength == value)
        #expect(parsed.length == header.readableBytes)
    }

    @Test("a 128-byte body gets a two-byte remaining length")
    func twoByteRemainingLength() throws {
        // Topic "a" (3 bytes) + 125 payload bytes = 128.
        let packet = MQTTPacket.publish(MQTTPublish(topic: "a", payload: ByteBuffer(repeating: 0x55, count: 125)))
        let encoded = try encode(packet)
        #expect(encoded.getBytes(at: 0, length: 3) == [0x30, 0x80, 0x01])
        #expect(try decodeDripFed(encoded) == [packet])
    }
}

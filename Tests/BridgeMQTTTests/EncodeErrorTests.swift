import BridgeMQTT
import NIOCore
import Testing

struct EncodeCase: Sendable, CustomTestStringConvertible {
    var name: String
    var packet: MQTTPacket
    var error: MQTTEncodeError

    var testDescription: String { self.name }
}

let encodeCases: [EncodeCase] = [
    EncodeCase(
        name: "PUBLISH to a wildcard topic",
        packet: .publish(MQTTPublish(topic: "a/+", payload: ByteBuffer())),
        error: .invalidTopicName(.publish, "a/+", .wildcardInTopicName("+"))
    ),
    EncodeCase(
        name: "PUBLISH to an empty topic",
        packet: .publish(MQTTPublish(topic: "", payload: ByteBuffer())),
        error: .invalidTopicName(.publish, "", .empty)
    ),
    EncodeCase(
        name: "PUBLISH qos 1 without packet identifier",
        packet: .publish(MQTTPublish(topic: "a", payload: ByteBuffer(), qos: .atLeastOnce)),
        error: .missingPacketIdentifier(.atLeastOnce)
    ),
    EncodeCase(
        name: "PUBLISH qos 0 with packet identifier",
        packet: .publish(MQTTPublish(topic: "a", payload: ByteBuffer(), packetId: 3)),
        error: .unexpectedPacketIdentifier
    ),
    EncodeCase(
        name: "PUBLISH packet identifier 0",
        packet: .publish(MQTTPublish(topic: "a", payload: ByteBuffer(), qos: .exactlyOnce, packetId: 0)),
        error: .zeroPacketIdentifier(.publish)
    ),
    EncodeCase(
        name: "PUBLISH DUP with qos 0",
        packet: .publish(MQTTPublish(topic: "a", payload: ByteBuffer(), dup: true)),
        error: .dupWithQoS0
    ),
    EncodeCase(
        name: "PUBACK packet identifier 0",
        packet: .pubAck(MQTTPubAck(packetId: 0)),
        error: .zeroPacketIdentifier(.pubAck)
    ),
    EncodeCase(
        name: "SUBSCRIBE with no subscriptions",
        packet: .subscribe(MQTTSubscribe(packetId: 1, subscriptions: [])),
        error: .emptyPayload(.subscribe)
    ),
    EncodeCase(
        name: "SUBSCRIBE to an invalid filter",
        packet: .subscribe(MQTTSubscribe(packetId: 1, subscriptions: [MQTTSubscription(filter: "a/#/b")])),
        error: .invalidTopicFilter(.subscribe, "a/#/b", .multiLevelWildcardNotLast)
    ),
    EncodeCase(
        name: "UNSUBSCRIBE an empty filter",
        packet: .unsubscribe(MQTTUnsubscribe(packetId: 1, filters: ["ok", ""])),
        error: .invalidTopicFilter(.unsubscribe, "", .empty)
    ),
    EncodeCase(
        name: "UNSUBSCRIBE with no filters",
        packet: .unsubscribe(MQTTUnsubscribe(packetId: 1, filters: [])),
        error: .emptyPayload(.unsubscribe)
    ),
    EncodeCase(
        name: "SUBACK with no return codes",
        packet: .subAck(MQTTSubAck(packetId: 1, returnCodes: [])),
        error: .emptyPayload(.subAck)
    ),
    EncodeCase(
        name: "CONNECT password without user name",
        packet: .connect(MQTTConnect(clientIdentifier: "c", password: ByteBuffer(string: "pw"))),
        error: .passwordWithoutUsername
    ),
    EncodeCase(
        name: "CONNECT client identifier of 65536 bytes",
        packet: .connect(MQTTConnect(clientIdentifier: String(repeating: "c", count: 65_536))),
        error: .fieldTooLong(.connect, field: .clientIdentifier, byteCount: 65_536)
    ),
    EncodeCase(
        name: "CONNECT password of 70000 bytes",
        packet: .connect(
            MQTTConnect(clientIdentifier: "c", username: "u", password: ByteBuffer(repeating: 1, count: 70_000))
        ),
        error: .fieldTooLong(.connect, field: .password, byteCount: 70_000)
    ),
    EncodeCase(
        name: "CONNECT user name with U+0000",
        packet: .connect(MQTTConnect(clientIdentifier: "c", username: "a\u{0}b")),
        error: .nullCharacter(.connect, field: .username)
    ),
    EncodeCase(
        name: "CONNECT will topic with a wildcard",
        packet: .connect(MQTTConnect(clientIdentifier: "c", will: MQTTWill(topic: "#", payload: ByteBuffer()))),
        error: .invalidTopicName(.connect, "#", .wildcardInTopicName("#"))
    ),
    EncodeCase(
        name: "CONNACK session present on refusal",
        packet: .connAck(MQTTConnAck(sessionPresent: true, returnCode: .serverUnavailable)),
        error: .sessionPresentWithRefusal(.serverUnavailable)
    ),
]

@Suite("Encoding refuses malformed packets")
struct EncodeErrorTests {
    @Test("the exact error, and nothing written", arguments: encodeCases)
    func refused(_ testCase: EncodeCase) {
        var buffer = ByteBuffer(string: "kept")
        #expect(throws: testCase.error) {
            try testCase.packet.write(into: &buffer)
        }
        #expect(buffer == ByteBuffer(string: "kept"))
    }

    @Test("the encoder handler throws the same error")
    func encoderHandlerThrows() {
        var out = ByteBuffer()
        #expect(throws: MQTTEncodeError.dupWithQoS0) {
            try MQTTPacketEncoder().encode(
                data: .publish(MQTTPublish(topic: "a", payload: ByteBuffer(), dup: true)),
                out: &out
            )
        }
        #expect(out.readableBytes == 0)
    }

    @Test("a 65535-byte string is the longest that encodes")
    func longestString() throws {
        let packet = MQTTPacket.connect(MQTTConnect(clientIdentifier: String(repeating: "c", count: 65_535)))
        #expect(try decodeAll(encode(packet)) == [packet])
    }

    @Test("descriptions say what to fix")
    func descriptions() {
        #expect(
            MQTTEncodeError.missingPacketIdentifier(.atLeastOnce).description
                == "PUBLISH with qos 1 needs a packet identifier"
        )
        #expect(
            MQTTEncodeError.fieldTooLong(.connect, field: .username, byteCount: 70_000).description
                == "user name of CONNECT is 70000 bytes long (the maximum is 65535)"
        )
    }
}

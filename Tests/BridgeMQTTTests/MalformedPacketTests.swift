import BridgeMQTT
import NIOCore
import Testing

/// A byte sequence a server must refuse, and the exact error it should produce.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    var name: String
    var input: ByteBuffer
    var error: MQTTDecodeError

    init(_ name: String, _ input: ByteBuffer, _ error: MQTTDecodeError) {
        self.name = name
        self.input = input
        self.error = error
    }

    var testDescription: String { self.name }
}

private let publishTopicAB = str("a/b")

let malformedCases: [MalformedCase] = [
    // Fixed header.
    MalformedCase("packet type 0", bytes("00 00"), .unknownPacketType(0)),
    MalformedCase("packet type 15", bytes("f0 00"), .unknownPacketType(15)),
    MalformedCase(
        "SUBSCRIBE flags 0x3",
        packet(0x83, [0x00, 0x01] + str("a") + [0]),
        .invalidFlags(.subscribe, flags: 0x3)
    ),
    MalformedCase(
        "SUBSCRIBE flags 0x0",
        packet(0x80, [0x00, 0x01] + str("a") + [0]),
        .invalidFlags(.subscribe, flags: 0x0)
    ),
    MalformedCase(
        "UNSUBSCRIBE flags 0x0",
        packet(0xA0, [0x00, 0x01] + str("a")),
        .invalidFlags(.unsubscribe, flags: 0x0)
    ),
    MalformedCase("PUBREL flags 0x0", bytes("60 02 00 01"), .invalidFlags(.pubRel, flags: 0x0)),
    MalformedCase("CONNECT flags 0x1", packet(0x11, connectBody()), .invalidFlags(.connect, flags: 0x1)),
    MalformedCase("PUBACK flags 0x2", bytes("42 02 00 01"), .invalidFlags(.pubAck, flags: 0x2)),
    MalformedCase("PINGREQ flags 0x8", bytes("c8 00"), .invalidFlags(.pingReq, flags: 0x8)),
    MalformedCase("DISCONNECT flags 0xF", bytes("ef 00"), .invalidFlags(.disconnect, flags: 0xF)),
    MalformedCase("remaining length of 5 bytes", bytes("30 ff ff ff ff 01"), .remainingLengthTooLong),
    MalformedCase("PUBACK remaining length 3", bytes("40 03 00 01 00"), .invalidRemainingLength(.pubAck, length: 3)),
    MalformedCase("PUBACK remaining length 1", bytes("40 01 00"), .invalidRemainingLength(.pubAck, length: 1)),
    MalformedCase("CONNACK remaining length 3", bytes("20 03 00 00 00"), .invalidRemainingLength(.connAck, length: 3)),
    MalformedCase("PINGREQ with a body", bytes("c0 01 00"), .invalidRemainingLength(.pingReq, length: 1)),
    MalformedCase("DISCONNECT with a body", bytes("e0 02 00 00"), .invalidRemainingLength(.disconnect, length: 2)),
    MalformedCase(
        "spec-maximum remaining length over the default maximum",
        bytes("30 ff ff ff 7f"),
        .packetTooLarge(size: 268_435_460, maximum: MQTTPacketDecoder.defaultMaximumPacketSize)
    ),

    // PUBLISH.
    MalformedCase("PUBLISH qos 3", packet(0x36, publishTopicAB + [0, 1]), .invalidQoS(.publish, value: 3)),
    MalformedCase("PUBLISH DUP with qos 0", packet(0x38, publishTopicAB), .dupWithQoS0),
    MalformedCase(
        "PUBLISH topic with '+'",
        packet(0x30, str("a/+")),
        .invalidTopicName(.publish, "a/+", .wildcardInTopicName("+"))
    ),
    MalformedCase(
        "PUBLISH topic with '#'",
        packet(0x30, str("a/#")),
        .invalidTopicName(.publish, "a/#", .wildcardInTopicName("#"))
    ),
    MalformedCase("PUBLISH empty topic", packet(0x30, str("") + [0x41]), .invalidTopicName(.publish, "", .empty)),
    MalformedCase(
        "PUBLISH qos 1 packet identifier 0",
        packet(0x32, publishTopicAB + [0, 0]),
        .zeroPacketIdentifier(.publish)
    ),
    MalformedCase(
        "PUBLISH qos 2 without packet identifier",
        packet(0x34, publishTopicAB),
        .truncated(.publish, field: .packetIdentifier)
    ),
    MalformedCase(
        "PUBLISH topic longer than the packet",
        packet(0x30, [0x00, 0x05, 0x61]),
        .truncated(.publish, field: .topicName)
    ),
    MalformedCase("PUBLISH half a topic length", packet(0x30, [0x00]), .truncated(.publish, field: .topicName)),
    MalformedCase(
        "PUBLISH topic not UTF-8",
        packet(0x30, [0x00, 0x02, 0xC3, 0x28]),
        .invalidUTF8(.publish, field: .topicName)
    ),
    MalformedCase(
        "PUBLISH topic with a lone continuation byte",
        packet(0x30, [0x00, 0x01, 0x80]),
        .invalidUTF8(.publish, field: .topicName)
    ),
    MalformedCase(
        "PUBLISH topic with a UTF-16 surrogate",
        packet(0x30, [0x00, 0x03, 0xED, 0xA0, 0x80]),
        .invalidUTF8(.publish, field: .topicName)
    ),
    MalformedCase(
        "PUBLISH topic with an overlong '/'",
        packet(0x30, [0x00, 0x02, 0xC0, 0xAF]),
        .invalidUTF8(.publish, field: .topicName)
    ),
    MalformedCase(
        "PUBLISH topic with an overlong U+0000",
        packet(0x30, [0x00, 0x02, 0xC0, 0x80]),
        .invalidUTF8(.publish, field: .topicName)
    ),
    MalformedCase(
        "PUBLISH topic above U+10FFFF",
        packet(0x30, [0x00, 0x04, 0xF4, 0x90, 0x80, 0x80]),
        .invalidUTF8(.publish, field: .topicName)
    ),
    MalformedCase(
        "PUBLISH topic ending mid-character",
        packet(0x30, [0x00, 0x02, 0x61, 0xE2]),
        .invalidUTF8(.publish, field: .topicName)
    ),
    MalformedCase(
        "PUBLISH topic with U+0000",
        packet(0x30, [0x00, 0x03, 0x61, 0x00, 0x62]),
        .nullCharacter(.publish, field: .topicName)
    ),

    // Acknowledgements.
    MalformedCase("PUBACK packet identifier 0", bytes("40 02 00 00"), .zeroPacketIdentifier(.pubAck)),
    MalformedCase("PUBREC packet identifier 0", bytes("50 02 00 00"), .zeroPacketIdentifier(.pubRec)),
    MalformedCase("PUBREL packet identifier 0", bytes("62 02 00 00"), .zeroPacketIdentifier(.pubRel)),
    MalformedCase("PUBCOMP packet identifier 0", bytes("70 02 00 00"), .zeroPacketIdentifier(.pubComp)),
    MalformedCase("UNSUBACK packet identifier 0", bytes("b0 02 00 00"), .zeroPacketIdentifier(.unsubAck)),

    // SUBSCRIBE and UNSUBSCRIBE.
    MalformedCase("SUBSCRIBE with no filters", bytes("82 02 00 01"), .emptyPayload(.subscribe)),
    MalformedCase(
        "SUBSCRIBE packet identifier 0",
        packet(0x82, [0, 0] + str("a") + [0]),
        .zeroPacketIdentifier(.subscribe)
    ),
    MalformedCase(
        "SUBSCRIBE without packet identifier",
        bytes("82 01 00"),
        .truncated(.subscribe, field: .packetIdentifier)
    ),
    MalformedCase(
        "SUBSCRIBE requests qos 3",
        packet(0x82, [0, 1] + str("a") + [3]),
        .invalidQoS(.subscribe, value: 3)
    ),
    MalformedCase(
        "SUBSCRIBE reserved option bits",
        packet(0x82, [0, 1] + str("a") + [0x04]),
        .reservedSubscriptionOptions(0x04)
    ),
    MalformedCase(
        "SUBSCRIBE filter without qos byte",
        packet(0x82, [0, 1] + str("a")),
        .truncated(.subscribe, field: .requestedQoS)
    ),
    MalformedCase(
        "SUBSCRIBE 'sport+'",
        packet(0x82, [0, 1] + str("sport+") + [0]),
        .invalidTopicFilter(.subscribe, "sport+", .singleLevelWildcardNotAlone)
    ),
    MalformedCase(
        "SUBSCRIBE 'a/#/b'",
        packet(0x82, [0, 1] + str("a/#/b") + [0]),
        .invalidTopicFilter(.subscribe, "a/#/b", .multiLevelWildcardNotLast)
    ),
    MalformedCase(
        "SUBSCRIBE 'sport/tennis#'",
        packet(0x82, [0, 1] + str("sport/tennis#") + [0]),
        .invalidTopicFilter(.subscribe, "sport/tennis#", .multiLevelWildcardNotLast)
    ),
    MalformedCase(
        "SUBSCRIBE empty filter",
        packet(0x82, [0, 1] + str("") + [0]),
        .invalidTopicFilter(.subscribe, "", .empty)
    ),
    MalformedCase(
        "SUBSCRIBE filter with U+0000",
        packet(0x82, [0, 1, 0, 1, 0, 0]),
        .nullCharacter(.subscribe, field: .topicFilter)
    ),
    MalformedCase(
        "SUBSCRIBE second entry invalid",
        packet(0x82, [0, 1] + str("ok") + [1] + str("+x") + [0]),
        .invalidTopicFilter(.subscribe, "+x", .singleLevelWildcardNotAlone)
    ),
    MalformedCase("UNSUBSCRIBE with no filters", bytes("a2 02 00 07"), .emptyPayload(.unsubscribe)),
    MalformedCase(
        "UNSUBSCRIBE packet identifier 0",
        packet(0xA2, [0, 0] + str("a")),
        .zeroPacketIdentifier(.unsubscribe)
    ),
    MalformedCase(
        "UNSUBSCRIBE '#/a'",
        packet(0xA2, [0, 1] + str("#/a")),
        .invalidTopicFilter(.unsubscribe, "#/a", .multiLevelWildcardNotLast)
    ),
    MalformedCase(
        "UNSUBSCRIBE filter cut short",
        packet(0xA2, [0, 1, 0, 4, 0x61]),
        .truncated(.unsubscribe, field: .topicFilter)
    ),

    // SUBACK and CONNACK (what a client must refuse).
    MalformedCase("SUBACK with no return codes", bytes("90 02 00 01"), .emptyPayload(.subAck)),
    MalformedCase("SUBACK return code 3", bytes("90 03 00 01 03"), .invalidSubAckReturnCode(0x03)),
    MalformedCase("SUBACK return code 0x81", bytes("90 03 00 01 81"), .invalidSubAckReturnCode(0x81)),
    MalformedCase("CONNACK reserved flags", bytes("20 02 02 00"), .reservedConnAckFlags(0x02)),
    MalformedCase("CONNACK return code 6", bytes("20 02 00 06"), .unknownConnAckReturnCode(6)),
    MalformedCase(
        "CONNACK session present on refusal",
        bytes("20 02 01 05"),
        .sessionPresentWithRefusal(.notAuthorized)
    ),

    // CONNECT.
    MalformedCase(
        "CONNECT protocol name 'MQTX'",
        packet(0x10, connectBody(name: "MQTX")),
        .invalidProtocolName("MQTX")
    ),
    MalformedCase(
        "CONNECT protocol name 'mqtt'",
        packet(0x10, connectBody(name: "mqtt")),
        .invalidProtocolName("mqtt")
    ),
    MalformedCase(
        "CONNECT MQTT 3.1 ('MQIsdp' level 3)",
        packet(0x10, connectBody(name: "MQIsdp", level: 3)),
        .unsupportedProtocolVersion(name: "MQIsdp", level: 3)
    ),
    MalformedCase(
        "CONNECT MQTT 5 (level 5)",
        packet(0x10, connectBody(level: 5)),
        .unsupportedProtocolVersion(name: "MQTT", level: 5)
    ),
    MalformedCase("CONNECT reserved flag", packet(0x10, connectBody(flags: 0x03)), .reservedConnectFlag),
    MalformedCase(
        "CONNECT will qos without will",
        packet(0x10, connectBody(flags: 0x0A)),
        .willFlagsWithoutWill(flags: 0x0A)
    ),
    MalformedCase(
        "CONNECT will retain without will",
        packet(0x10, connectBody(flags: 0x22)),
        .willFlagsWithoutWill(flags: 0x22)
    ),
    MalformedCase(
        "CONNECT will qos 3",
        packet(0x10, connectBody(flags: 0x1E, payload: str("c") + str("w") + str("x"))),
        .invalidQoS(.connect, value: 3)
    ),
    MalformedCase(
        "CONNECT password without user name",
        packet(0x10, connectBody(flags: 0x42, payload: str("c") + str("pw"))),
        .passwordWithoutUsername
    ),
    MalformedCase(
        "CONNECT will topic with a wildcard",
        packet(0x10, connectBody(flags: 0x06, payload: str("c") + str("a/#") + str("x"))),
        .invalidTopicName(.connect, "a/#", .wildcardInTopicName("#"))
    ),
    MalformedCase(
        "CONNECT without keep alive",
        packet(0x10, str("MQTT") + [4, 2, 0]),
        .truncated(.connect, field: .keepAlive)
    ),
    MalformedCase(
        "CONNECT without client identifier",
        packet(0x10, connectBody(payload: [])),
        .truncated(.connect, field: .clientIdentifier)
    ),
    MalformedCase(
        "CONNECT will flag without will topic",
        packet(0x10, connectBody(flags: 0x06)),
        .truncated(.connect, field: .willTopic)
    ),
    MalformedCase(
        "CONNECT will message cut short",
        packet(0x10, connectBody(flags: 0x06, payload: str("c") + str("w") + [0, 9, 1])),
        .truncated(.connect, field: .willPayload)
    ),
    MalformedCase(
        "CONNECT user name flag without user name",
        packet(0x10, connectBody(flags: 0x82)),
        .truncated(.connect, field: .username)
    ),
    MalformedCase(
        "CONNECT password flag without password",
        packet(0x10, connectBody(flags: 0xC2, payload: str("c") + str("u"))),
        .truncated(.connect, field: .password)
    ),
    MalformedCase(
        "CONNECT with bytes after the payload",
        packet(0x10, connectBody() + [0xAA, 0xBB]),
        .trailingBytes(.connect, count: 2)
    ),
    MalformedCase(
        "CONNECT client identifier not UTF-8",
        packet(0x10, connectBody(payload: [0, 1, 0xFF])),
        .invalidUTF8(.connect, field: .clientIdentifier)
    ),
    MalformedCase(
        "CONNECT user name with U+0000",
        packet(0x10, connectBody(flags: 0x82, payload: str("c") + [0, 1, 0])),
        .nullCharacter(.connect, field: .username)
    ),
]

@Suite("Malformed packets")
struct MalformedPacketTests {
    @Test("the whole packet at once throws the exact error", arguments: malformedCases)
    func wholeBuffer(_ testCase: MalformedCase) {
        #expect(throws: testCase.error) {
            try decodeAll(testCase.input)
        }
    }

    @Test("one byte at a time throws the same error, and yields no packet before it", arguments: malformedCases)
    func dripFed(_ testCase: MalformedCase) {
        #expect(throws: testCase.error) {
            var decoder = MQTTPacketDecoder()
            var cumulation = ByteBuffer()
            for byte in testCase.input.readableBytesView {
                cumulation.writeInteger(byte)
                let packet = try decoder.decode(buffer: &cumulation)
                #expect(packet == nil)
            }
        }
    }

    @Test("a bad first byte is refused before anything else arrives")
    func refusedOnFirstByte() {
        for (first, error) in [
            (UInt8(0x83), MQTTDecodeError.invalidFlags(.subscribe, flags: 3)), (0x00, .unknownPacketType(0)),
            (0x36, .invalidQoS(.publish, value: 3)), (0x38, .dupWithQoS0),
        ] {
            var buffer = ByteBuffer(integer: first)
            #expect(throws: error) { try MQTTPacket.decode(from: &buffer) }
        }
    }

    @Test("a fixed length is checked before the body arrives")
    func refusedOnFixedHeader() {
        var buffer = bytes("40 7f")  // PUBACK announcing 127 bytes
        #expect(throws: MQTTDecodeError.invalidRemainingLength(.pubAck, length: 127)) {
            try MQTTPacket.decode(from: &buffer)
        }
    }

    @Test("an unsupported protocol version asks for CONNACK 0x01; other errors ask for none")
    func connAckForUnsupportedVersion() {
        #expect(
            MQTTDecodeError.unsupportedProtocolVersion(name: "MQIsdp", level: 3).connAckReturnCode
                == .unacceptableProtocolVersion
        )
        #expect(MQTTDecodeError.invalidProtocolName("X").connAckReturnCode == nil)
        #expect(MQTTDecodeError.reservedConnectFlag.connAckReturnCode == nil)
    }

    @Test(
        "errors describe exactly what was wrong",
        arguments: [
            (MQTTDecodeError.remainingLengthTooLong, "remaining length uses more than 4 bytes"),
            (.invalidFlags(.subscribe, flags: 0x3), "reserved flags 0x3 set on SUBSCRIBE (must be 0x2)"),
            (.invalidFlags(.connect, flags: 0x1), "reserved flags 0x1 set on CONNECT (must be 0x0)"),
            (
                .invalidTopicName(.publish, "a/+", .wildcardInTopicName("+")),
                "PUBLISH topic 'a/+' contains the wildcard '+'"
            ),
            (.packetTooLarge(size: 300_000, maximum: 262_144), "packet of 300000 bytes exceeds the maximum 262144"),
            (.invalidUTF8(.publish, field: .topicName), "invalid UTF-8 in topic of PUBLISH"),
            (.unknownPacketType(0), "unknown packet type 0 (types 0 and 15 are reserved)"),
            (.invalidProtocolName("X"), "CONNECT protocol name 'X' is not 'MQTT'"),
            (
                .unsupportedProtocolVersion(name: "MQIsdp", level: 3),
                "CONNECT asks for protocol 'MQIsdp' level 3; only MQTT 3.1.1 ('MQTT' level 4) is supported"
            ),
            (.invalidRemainingLength(.pubAck, length: 3), "PUBACK has remaining length 3 (must be 2)"),
            (.truncated(.connect, field: .willTopic), "CONNECT ends inside its will topic"),
            (.trailingBytes(.connect, count: 1), "1 unexpected byte after the end of CONNECT"),
            (.zeroPacketIdentifier(.subscribe), "SUBSCRIBE has packet identifier 0 (must be non-zero)"),
            (.emptyPayload(.subscribe), "SUBSCRIBE carries no topic filters (at least one is required)"),
            (.invalidQoS(.publish, value: 3), "qos 3 in PUBLISH (must be 0, 1 or 2)"),
            (
                .invalidTopicFilter(.subscribe, "a/#/b", .multiLevelWildcardNotLast),
                "SUBSCRIBE topic filter 'a/#/b' has a '#' that is not alone in the last level"
            ),
            (.nullCharacter(.connect, field: .clientIdentifier), "client identifier of CONNECT contains U+0000"),
        ]
    )
    func descriptions(error: MQTTDecodeError, text: String) {
        #expect(error.description == text)
    }

    @Test("a peer-controlled name is abbreviated in descriptions")
    func longNamesAbbreviated() {
        let name = String(repeating: "x", count: 10_000)
        let description = MQTTDecodeError.invalidProtocolName(name).description
        #expect(description.count < 200)
        #expect(description.contains("…"))
    }
}

import BridgeLink
import NIOCore
import Testing

@Suite("LinkMessage")
struct LinkMessageTests {
    /// At least one message of every type, with fields at their edges.
    static let samples: [LinkMessage] = [
        .hello(LinkHello(maximumBodySize: 512, software: "mqttbridged 0.1.0")),
        .hello(
            LinkHello(
                maximumBodySize: 4096,
                window: 1,
                maximumInFlight: 8,
                capabilities: [.tls, .ntp],
                bootCount: 0xDEAD_BEEF,
                resetReason: .exception,
                software: "mqttbridge-fw 0.1.0",
                freeHeap: 31_337
            )
        ),
        .hello(
            LinkHello(
                maximumBodySize: 0xFFFF, capabilities: .init(rawValue: 0x8001), resetReason: .unknown, software: "")),
        .config(LinkConfig()),
        .config(LinkConfig(wifiSSID: "home", brokerHost: "broker.local", clientID: "bridge-1")),
        .config(
            LinkConfig(
                wifiSSID: "Ünïcode ssid",
                wifiPassword: "",
                brokerHost: "10.0.0.2",
                brokerPort: 8883,
                clientID: "c",
                username: "user",
                password: ByteBuffer(bytes: [0x00, 0xFF, 0x00]),
                keepAlive: 0,
                cleanSession: false,
                willTopic: "bridge/status",
                willPayload: ByteBuffer(string: "offline"),
                willQoS: .atLeastOnce,
                willRetain: true,
                tls: true,
                ntpServer: "pool.ntp.org",
                ntpPort: 4123
            )
        ),
        .config(LinkConfig(ntpServer: "", ntpPort: 123)),
        .configAck(LinkConfigAck(result: .accepted)),
        .configAck(LinkConfigAck(result: .missingKey, detail: "key 1 (wifi_ssid) is missing")),
        .configAck(LinkConfigAck(result: .unsupportedFeature, detail: "tls")),
        .error(LinkError(code: .version, detail: "host speaks link protocol 1, firmware speaks 2")),
        .error(LinkError(code: .tooLarge)),
        .error(LinkError(code: .other(0x42), detail: "from a later revision")),
        .ping(LinkPing()),
        .ping(LinkPing(token: ByteBuffer(bytes: [0, 1, 2, 3, 0]))),
        .pong(LinkPong(token: ByteBuffer(bytes: [0xFF, 0x00]))),
        .publish(LinkPublish(qos: .atLeastOnce, messageID: 1, topic: "a/b", payload: ByteBuffer(string: "hi"))),
        .publish(LinkPublish(qos: .atMostOnce, retain: true, messageID: 0, topic: "", payload: ByteBuffer())),
        .publish(
            LinkPublish(
                qos: .atLeastOnce,
                retain: true,
                messageID: 0xFFFF,
                topic: "sensors/ünï/temp",
                payload: ByteBuffer(bytes: [UInt8](repeating: 0, count: 300))
            )
        ),
        .subscribe(LinkSubscribe(qos: .atMostOnce, filter: "sensors/+/temp")),
        .subscribe(LinkSubscribe(qos: .atLeastOnce, filter: "#")),
        .unsubscribe(LinkUnsubscribe(filter: "sensors/#")),
        .pubAck(LinkPubAck(messageID: 7, result: .delivered)),
        .pubAck(LinkPubAck(messageID: 0, result: .offline)),
        .pubAck(LinkPubAck(messageID: 0xFFFF, result: .rejected)),
        .pubAck(LinkPubAck(messageID: 2, result: .busy)),
        .subAck(LinkSubAck(granted: .qos1, filter: "a/#")),
        .subAck(LinkSubAck(granted: .failure, filter: "bad")),
        .incoming(LinkIncoming(qos: .atMostOnce, topic: "a/b", payload: ByteBuffer(string: "hello"))),
        .incoming(LinkIncoming(qos: .atLeastOnce, retain: true, topic: "x", payload: ByteBuffer())),
        .incoming(LinkIncoming(qos: .atLeastOnce, topic: "", topicID: 3, payload: ByteBuffer(string: "by id"))),
        .incoming(
            LinkIncoming(qos: .atMostOnce, topic: "big", totalLength: 100_000, payload: ByteBuffer(string: "first"))),
        .publish(
            LinkPublish(
                qos: .atLeastOnce, messageID: 9, topic: "", topicID: 0xFFFF, totalLength: 0xFFFF_FFFF,
                payload: ByteBuffer(bytes: [0, 1]))),
        .register(LinkRegister(topicID: 1, topic: "sensors/kitchen/temperature")),
        .registerFromESP(LinkRegister(topicID: 0xFFFF, topic: "a")),
        .baud(LinkBaud(rate: 921_600)),
        .wifi(LinkWiFiState(state: .down, reason: "no AP named \"x\"")),
        .wifi(LinkWiFiState(state: .connecting)),
        .wifi(LinkWiFiState(state: .up, rssi: -67, address: "192.168.1.50")),
        .broker(LinkBrokerState(state: .disconnected, returnCode: 5, reason: "connection refused")),
        .broker(LinkBrokerState(state: .connected, sessionPresent: true)),
        .log(LinkLog(level: .warning, text: "heap low")),
        .log(LinkLog(level: .other(9), text: "")),
        .stats(LinkStats(freeHeap: 20_000, uptime: 3600, time: 1_700_000_000)),
        .stats(LinkStats(freeHeap: 0, uptime: 0)),
        .stats(
            LinkStats(
                freeHeap: 4000, uptime: 86_400, time: 1_900_000_000,
                clock: .init(milliseconds: 999, lastSync: 1_899_996_400, syncFailures: 0xFFFF_FFFF, syncResult: .synced)
            )),
        .stats(LinkStats(freeHeap: 1, uptime: 2, clock: .init(milliseconds: 0, syncResult: .other(0xFF)))),
    ]

    @Test("the samples cover every message type but ACK, which LinkSession consumes (§8.3)")
    func samplesCoverEveryType() {
        #expect(Set(Self.samples.map(\.type)) == Set(LinkMessageType.allAssigned).subtracting([.ack]))
    }

    @Test("round-trips through frame, wire, decoder and back", arguments: Self.samples)
    func roundTrip(message: LinkMessage) throws {
        let frame = try message.makeFrame()
        #expect(frame.type == message.type)
        #expect(frame.flags == [])
        let run = try decode(wire(frame, leadingDelimiter: true), maximumBodySize: 4096)
        #expect(run.outputs == [.frame(frame)])
        #expect(try LinkMessage(frame: run.frames[0]) == message)
        let direction: LinkDirection = message.type.isHostToESP ? .hostToESP : .espToHost
        #expect(try LinkMessage(frame: run.frames[0], direction: direction) == message)
    }

    /// Messages with every variable field empty, so that every byte of their payload is required.
    static let minimal: [LinkMessage] = [
        .hello(LinkHello(maximumBodySize: 512, software: "")),
        .configAck(LinkConfigAck(result: .accepted)),
        .error(LinkError(code: .malformed)),
        .publish(LinkPublish(qos: .atMostOnce, messageID: 0, topic: "", payload: ByteBuffer())),
        .subscribe(LinkSubscribe(qos: .atMostOnce, filter: "")),
        .unsubscribe(LinkUnsubscribe(filter: "")),
        .pubAck(LinkPubAck(messageID: 1, result: .delivered)),
        .subAck(LinkSubAck(granted: .qos0, filter: "")),
        .incoming(LinkIncoming(qos: .atMostOnce, topic: "", payload: ByteBuffer())),
        .wifi(LinkWiFiState(state: .down)),
        .broker(LinkBrokerState(state: .disconnected)),
        .log(LinkLog(level: .debug, text: "")),
        .stats(LinkStats(freeHeap: 0, uptime: 0)),
    ]

    @Test("a payload shorter than the required fields is malformed", arguments: Self.minimal)
    func tooShort(message: LinkMessage) throws {
        let payload = try message.makeFrame().payload.bytes
        #expect(!payload.isEmpty)
        for length in 0..<payload.count {
            let frame = LinkFrame(type: message.type, payload: ByteBuffer(bytes: payload.prefix(length)))
            let error = #expect(throws: LinkMessageError.self, "\(length) of \(payload.count) bytes") {
                try LinkMessage(frame: frame)
            }
            guard case .malformed(let type, let detail) = error else {
                Issue.record("expected malformed, got \(String(describing: error))")
                continue
            }
            #expect(type == message.type)
            #expect(!detail.isEmpty)
            #expect(error?.errorCode == .malformed)
        }
    }

    @Test("a string longer than its length says is malformed")
    func stringPastEnd() {
        let frame = LinkFrame(type: .unsubscribe, payload: ByteBuffer(bytes: [0x00, 0x05, 0x61, 0x62]))
        #expect(
            throws: LinkMessageError.malformed(.unsubscribe, "payload ends inside filter: needs 5 bytes, 2 left")
        ) {
            try LinkMessage(frame: frame)
        }
    }

    @Test("bytes after the last known field are ignored (§4)", arguments: Self.samples)
    func trailingBytesIgnored(message: LinkMessage) throws {
        // Messages ending in `rest` take every byte, and CONFIG reads items to the end.
        let endsInRest: Set<LinkMessageType> = [.ping, .pong, .publish, .message, .log, .config]
        guard !endsInRest.contains(message.type) else { return }
        var frame = try message.makeFrame()
        frame.payload.writeBytes([0x00, 0x01, 0xFF, 0x42])
        #expect(try LinkMessage(frame: frame) == message)
    }

    @Test("unassigned types throw unknownType", arguments: [0x00, 0x07, 0x0F, 0x15, 0x1F, 0x28, 0x80, 0xFF] as [UInt8])
    func unknownType(raw: UInt8) {
        let frame = LinkFrame(type: LinkMessageType(raw), payload: ByteBuffer(bytes: [1, 2, 3]))
        #expect(throws: LinkMessageError.unknownType(raw)) { try LinkMessage(frame: frame) }
        #expect(throws: LinkMessageError.unknownType(raw)) { try LinkMessage(frame: frame, direction: .espToHost) }
        #expect(LinkMessageError.unknownType(raw).errorCode == .unknownType)
    }

    @Test("a type sent the wrong way is refused and answered as unknown-type")
    func wrongDirection() throws {
        let publish = try LinkMessage.publish(
            LinkPublish(qos: .atMostOnce, messageID: 0, topic: "t", payload: ByteBuffer())
        ).makeFrame()
        #expect(throws: LinkMessageError.wrongDirection(.publish, .espToHost)) {
            try LinkMessage(frame: publish, direction: .espToHost)
        }
        let pubAck = try LinkMessage.pubAck(LinkPubAck(messageID: 1, result: .busy)).makeFrame()
        #expect(throws: LinkMessageError.wrongDirection(.pubAck, .hostToESP)) {
            try LinkMessage(frame: pubAck, direction: .hostToESP)
        }
        #expect(LinkMessageError.wrongDirection(.pubAck, .hostToESP).errorCode == .unknownType)

        let answer = LinkError(answering: .wrongDirection(.pubAck, .hostToESP))
        #expect(answer.code == .unknownType)
        #expect(answer.detail == "PUBACK (0x20) may not be sent host to ESP")
    }

    @Test(
        "values out of range are malformed",
        arguments: [
            (LinkMessageType.publish, "02 00 00 00 00"),  // qos 2
            (.register, "00 00 00 01 61"),  // topic id 0
            (.registerFromESP, "00 00 00 00"),  // topic id 0
            (.subscribe, "02 00 00"),  // qos 2
            (.configAck, "04 00"),  // result 4
            (.pubAck, "00 01 04"),  // result 4
            (.subAck, "03 00 00"),  // granted 3
            (.message, "03 00 00"),  // qos 3
            (.wifi, "03 00 00 00"),  // state 3
            (.broker, "03 00 00 00"),  // state 3
            (.broker, "02 00 02 00"),  // session_present 2
            (.hello, "02 01 ff 01 00 0000 00000000 00 00 00000000 00 00000000"),  // max_body 511
            (.config, "04 0003 075b00"),  // broker_port of 3 bytes
            (.config, "09 0001 02"),  // clean_session 2
            (.config, "0c 0001 02"),  // will_qos 2
            (.config, "0e 0000"),  // tls empty
            (.config, "01 0005 61"),  // value cut short
            (.config, "01 00"),  // item header cut short
        ] as [(LinkMessageType, String)]
    )
    func outOfRange(type: LinkMessageType, payload: String) {
        let frame = LinkFrame(type: type, payload: ByteBuffer(hex: payload))
        let error = #expect(throws: LinkMessageError.self) { try LinkMessage(frame: frame) }
        guard case .malformed(let errorType, _) = error else {
            Issue.record("expected malformed, got \(String(describing: error))")
            return
        }
        #expect(errorType == type)
    }

    @Test("MESSAGE and PUBLISH ignore their flags bits 5–7 (bit 4 is LENGTH in version 2, §8.6)")
    func reservedMessageFlags() throws {
        let frame = LinkFrame(type: .message, payload: ByteBuffer(hex: "e5 0001 78 6869"))
        #expect(
            try LinkMessage(frame: frame)
                == .incoming(
                    LinkIncoming(qos: .atLeastOnce, retain: true, topic: "x", payload: ByteBuffer(string: "hi")))
        )
        let publish = LinkFrame(type: .publish, payload: ByteBuffer(hex: "e0 0000 0001 78"))
        #expect(
            try LinkMessage(frame: publish)
                == .publish(LinkPublish(qos: .atMostOnce, messageID: 0, topic: "x", payload: ByteBuffer()))
        )
    }

    @Test("a HELLO of another version is refused before its layout is read")
    func helloVersion() {
        let frame = LinkFrame(type: .hello, payload: ByteBuffer(bytes: [0x01]))
        #expect(throws: LinkMessageError.unsupportedVersion(1)) { try LinkMessage(frame: frame) }
        #expect(LinkMessageError.unsupportedVersion(1).errorCode == .version)
    }

    @Test("HELLO lays out its fields as §5.1 says")
    func helloLayout() throws {
        let hello = LinkHello(
            maximumBodySize: 0x0400,
            window: 1,
            maximumInFlight: 4,
            capabilities: [.tls, .ntp],
            bootCount: 3,
            resetReason: .externalReset,
            software: "fw",
            freeHeap: 0x0001_0000,
            maximumTopics: 8,
            maximumBaudRate: 921_600
        )
        let payload = try LinkMessage.hello(hello).makeFrame().payload
        #expect(payload.bytes == hexBytes("02 0400 01 04 0003 00000003 06 02 6677 00010000 08 000e1000"))
    }

    @Test("open-ended enums keep values they do not know")
    func openEnums() throws {
        #expect(LinkError.Code(rawValue: 9) == .other(9))
        #expect(LinkError.Code(rawValue: 2) == .unknownType)
        #expect(LinkHello.ResetReason(rawValue: 7) == .other(7))
        #expect(LinkHello.ResetReason(rawValue: 255) == .unknown)
        #expect(LinkLog.Level(rawValue: 3) == .error)
        let hello = LinkFrame(
            type: .hello, payload: ByteBuffer(hex: "02 0200 01 00 0000 00000000 09 00 00000000 00 00000000"))
        guard case .hello(let decoded) = try LinkMessage(frame: hello) else {
            Issue.record("not a HELLO")
            return
        }
        #expect(decoded.resetReason == .other(9))
    }

    @Test("CONFIG encodes only the present keys, in key order")
    func configEncoding() throws {
        #expect(try LinkMessage.config(LinkConfig()).makeFrame().payload.readableBytes == 0)
        let config = LinkConfig(wifiSSID: "ab", brokerPort: 1883, cleanSession: true)
        #expect(
            try LinkMessage.config(config).makeFrame().payload.bytes
                == hexBytes("01 0002 6162  04 0002 075b  09 0001 01"))
    }

    @Test("CONFIG skips unknown keys and lets a repeated key's last value count")
    func configDecoding() throws {
        let payload = ByteBuffer(hex: "63 0003 010203  01 0001 61  04 0002 0001  01 0002 6263  ff 0000")
        let decoded = try LinkMessage(frame: LinkFrame(type: .config, payload: payload))
        #expect(decoded == .config(LinkConfig(wifiSSID: "bc", brokerPort: 1)))
    }

    @Test("CONFIG names the required keys it lacks")
    func configRequiredKeys() {
        #expect(LinkConfig().missingRequiredKeys == [.wifiSSID, .brokerHost, .clientID])
        #expect(LinkConfig(wifiSSID: "a", clientID: "c").missingRequiredKeys == [.brokerHost])
        #expect(LinkConfig(wifiSSID: "a", brokerHost: "b", clientID: "c").missingRequiredKeys.isEmpty)
        #expect(LinkConfig.Key.wifiSSID.description == "key 1 (wifi_ssid)")
    }

    @Test("a field too long for its length prefix is refused, not truncated")
    func fieldTooLong() {
        let long = String(repeating: "x", count: 256)
        #expect(throws: LinkMessageEncodingError.fieldTooLong(.configAck, field: "detail", length: 256, maximum: 255)) {
            try LinkMessage.configAck(LinkConfigAck(result: .invalidValue, detail: long)).makeFrame()
        }
        #expect(throws: LinkMessageEncodingError.fieldTooLong(.hello, field: "software", length: 256, maximum: 255)) {
            try LinkMessage.hello(LinkHello(maximumBodySize: 512, software: long)).makeFrame()
        }
        let huge = String(repeating: "y", count: 70_000)
        #expect(
            throws: LinkMessageEncodingError.fieldTooLong(.publish, field: "topic", length: 70_000, maximum: 65_535)
        ) {
            try LinkMessage.publish(LinkPublish(qos: .atMostOnce, messageID: 0, topic: huge, payload: ByteBuffer()))
                .makeFrame()
        }
        #expect(
            throws: LinkMessageEncodingError.fieldTooLong(
                .config, field: "will_payload", length: 70_000, maximum: 65_535)
        ) {
            try LinkMessage.config(LinkConfig(willPayload: ByteBuffer(string: huge))).makeFrame()
        }
        // 255 bytes still fit.
        #expect(throws: Never.self) {
            _ = try LinkMessage.log(LinkLog(level: .info, text: huge)).makeFrame()
            _ = try LinkMessage.error(LinkError(code: .malformed, detail: String(repeating: "z", count: 255)))
                .makeFrame()
        }
    }

    @Test("STATS lays out the clock's fields after time as §5.15 says")
    func statsLayout() throws {
        let stats = LinkStats(
            freeHeap: 0x1000, uptime: 60, time: 0x7140_0000,
            clock: .init(milliseconds: 500, lastSync: 0x713F_FFF0, syncFailures: 3, syncResult: .noAnswer))
        let payload = try LinkMessage.stats(stats).makeFrame().payload
        #expect(payload.bytes == hexBytes("00001000 0000003c 71400000 01f4 713ffff0 00000003 03"))
        #expect(stats.unixMilliseconds == Int64(0x7140_0000) * 1000 + 500)
        #expect(LinkStats(freeHeap: 0, uptime: 0).unixMilliseconds == nil)
        #expect(LinkStats.SyncResult(rawValue: 2) == .dnsFailed)
        #expect(LinkStats.SyncResult(rawValue: 9) == .other(9))
        #expect(LinkStats.SyncResult.noAnswer.isFailure && !LinkStats.SyncResult.synced.isFailure)
    }

    @Test(
        "STATS from a firmware without NTP, or with fewer bytes than the clock's fields, has no clock",
        arguments: ["00000001 00000002 00000000", "00000001 00000002 00000000 01f4 713ffff0 000000"]
    )
    func statsWithoutClock(payload: String) throws {
        let frame = LinkFrame(type: .stats, payload: ByteBuffer(hex: payload))
        #expect(try LinkMessage(frame: frame) == .stats(LinkStats(freeHeap: 1, uptime: 2)))
    }

    @Test("STATS with time_ms of 1000 or more is malformed")
    func statsMilliseconds() {
        let frame = LinkFrame(
            type: .stats, payload: ByteBuffer(hex: "00000001 00000002 71400000 03e8 713ffff0 00000000 01"))
        #expect(throws: LinkMessageError.malformed(.stats, "time_ms must be below 1000, got 1000")) {
            try LinkMessage(frame: frame)
        }
    }

    @Test("CONFIG carries ntp_server as text and ntp_port as a u16")
    func configNTP() throws {
        let config = LinkConfig(ntpServer: "ntp", ntpPort: 123)
        #expect(try LinkMessage.config(config).makeFrame().payload.bytes == hexBytes("0f 0003 6e7470  10 0002 007b"))
        #expect(LinkConfig.Key.ntpPort.description == "key 16 (ntp_port)")
        let short = LinkFrame(type: .config, payload: ByteBuffer(hex: "10 0001 7b"))
        #expect(throws: LinkMessageError.malformed(.config, "key 16 (ntp_port) must be 2 bytes, got 1")) {
            try LinkMessage(frame: short)
        }
    }

    @Test("PING's PONG carries the same token")
    func pingPong() {
        let ping = LinkPing(token: ByteBuffer(bytes: [9, 8, 7]))
        #expect(ping.pong == LinkPong(token: ByteBuffer(bytes: [9, 8, 7])))
    }
}

import BridgeLink
import FuzzSupport
import NIOCore

/// The seed corpus: valid traffic of every kind, once as the line (mode 0) and once as bodies (mode 1).
extension FuzzLink {
    /// Control bytes of the seeds: reads of 1 and of 16 bytes, a `max_body` of 8166 bytes or of 486, frames sent.
    private static let lineByByte: [UInt8] = [0x00, 255, 4]
    private static let lineInReads: [UInt8] = [0x1E, 255, 4]
    private static let smallMaximumBody: [UInt8] = [0x1E, 15, 0]
    private static let bodies: [UInt8] = [0x01, 255, 4]

    static var seeds: [FuzzSeed] {
        var seeds: [FuzzSeed] = []
        for (index, message) in sampleMessages.enumerated() {
            let frame = try! message.makeFrame()
            // Numbered, so that the seeds list in order.
            let name = "\(index < 10 ? "0" : "")\(index)-\(frame.type.name!.lowercased())"
            seeds.append(FuzzSeed(name: "line-\(name)", bytes: lineByByte + wire([frame])))
            seeds.append(FuzzSeed(name: "bodies-\(name)", bytes: bodies + bodyRecords([frame])))
        }
        let session = sessionFrames()
        seeds.append(FuzzSeed(name: "line-session", bytes: lineInReads + wire(session)))
        seeds.append(FuzzSeed(name: "bodies-session", bytes: bodies + bodyRecords(session)))
        let fragments = messageFragments()
        seeds.append(FuzzSeed(name: "line-fragments", bytes: lineInReads + wire(fragments)))
        seeds.append(FuzzSeed(name: "bodies-fragments", bytes: bodies + bodyRecords(fragments)))
        // Boot noise before a HELLO, as after every reset of the ESP (§1), and a frame too large for max_body.
        let noise = Array("\r\n ets Jan  8 2013,rst cause:2, boot mode:(3,6)\r\n".utf8)
        let hello = try! sampleMessages[0].makeFrame()
        seeds.append(FuzzSeed(name: "line-noise", bytes: lineInReads + noise + wire([hello])))
        let large = LinkFrame(type: .log, payload: ByteBuffer(bytes: [2] + Array(repeating: 0x61, count: 600)))
        seeds.append(FuzzSeed(name: "line-oversize", bytes: smallMaximumBody + wire([large, hello])))
        return seeds
    }

    /// At least one message of every type.
    private static let sampleMessages: [LinkMessage] = [
        .hello(
            LinkHello(
                maximumBodySize: 1024, window: 8, maximumInFlight: 4, capabilities: [.tls], bootCount: 7,
                resetReason: .exception, software: "mqttbridge-fw 0.2.0", freeHeap: 30_000, maximumTopics: 16,
                maximumBaudRate: 921_600)),
        .config(
            LinkConfig(
                wifiSSID: "home", wifiPassword: "secret", brokerHost: "broker.local", brokerPort: 1883,
                clientID: "bridge", username: "u", password: ByteBuffer(bytes: [0, 1]), keepAlive: 60,
                cleanSession: true, willTopic: "bridge/status", willPayload: ByteBuffer(string: "offline"),
                willQoS: .atLeastOnce, willRetain: true, tls: false, ntpServer: "pool.ntp.org")),
        .configAck(LinkConfigAck(result: .invalidValue, detail: "key 4")),
        .error(LinkError(code: .malformed, detail: "short PUBLISH")),
        .ping(LinkPing(token: ByteBuffer(bytes: [1, 2, 3, 4]))),
        .pong(LinkPong(token: ByteBuffer(bytes: [1, 2, 3, 4]))),
        .publish(LinkPublish(qos: .atLeastOnce, messageID: 5, topic: "home/temp", payload: ByteBuffer(string: "21"))),
        .publish(
            LinkPublish(
                qos: .atMostOnce, retain: true, messageID: 0, topic: "", topicID: 3, totalLength: 3000,
                payload: ByteBuffer(string: "first part"))),
        .subscribe(LinkSubscribe(qos: .atLeastOnce, filter: "home/+/set")),
        .unsubscribe(LinkUnsubscribe(filter: "home/#")),
        .register(LinkRegister(topicID: 3, topic: "home/kitchen/temp")),
        .baud(LinkBaud(rate: 460_800)),
        .pubAck(LinkPubAck(messageID: 5, result: .delivered)),
        .subAck(LinkSubAck(granted: .qos1, filter: "home/+/set")),
        .incoming(LinkIncoming(qos: .atLeastOnce, retain: true, topic: "home/lamp", payload: ByteBuffer(string: "on"))),
        .incoming(LinkIncoming(qos: .atMostOnce, topic: "", topicID: 9, payload: ByteBuffer(string: "by id"))),
        .wifi(LinkWiFiState(state: .up, rssi: -60, address: "192.168.1.20")),
        .broker(LinkBrokerState(state: .disconnected, returnCode: 5, reason: "not authorised")),
        .log(LinkLog(level: .info, text: "wifi up")),
        .stats(LinkStats(freeHeap: 28_000, uptime: 600, time: 1_800_000_000)),
        .registerFromESP(LinkRegister(topicID: 9, topic: "home/door")),
    ]

    /// What the ESP's session writes: sequenced messages that carry acknowledgements of the host's frames, and an
    /// ACK frame that rejects (asks for everything again from `ack`).
    private static func sessionFrames() -> [LinkFrame] {
        let now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var esp = LinkSession(configuration: .init(receiveWindow: 8), peerWindow: 32, now: now)
        var frames: [LinkFrame] = []
        let fromESP = sampleMessages.filter { $0.type.isESPToHost && $0.type.isSequenced }
        for message in fromESP.prefix(3) {
            frames += esp.send(try! message.makeFrame(), now: now)
        }
        // The host's session in the fuzz target has sent 4 frames: the second acknowledges 2 of them.
        frames[1].ack = LinkFrame.Acknowledgement(ack: 2, credit: 8)
        frames.append(LinkFrame(type: .ack, ack: .init(ack: 1, credit: 8), payload: ByteBuffer(bytes: [1])))
        return frames
    }

    /// A MESSAGE in three fragments (§8.6): the fields and `total_length`, then two more parts.
    private static func messageFragments() -> [LinkFrame] {
        let part = [UInt8](repeating: 0x42, count: 100)
        let first = LinkIncoming(
            qos: .atLeastOnce, topic: "home/camera", totalLength: 300, payload: ByteBuffer(bytes: part))
        var frames = [try! LinkMessage.incoming(first).makeFrame()]
        frames[0].more = true
        frames.append(LinkFrame(type: .message, more: true, payload: ByteBuffer(bytes: part)))
        frames.append(LinkFrame(type: .message, payload: ByteBuffer(bytes: part)))
        return frames
    }

    /// The frames as they go on the line, after a leading delimiter.
    private static func wire(_ frames: [LinkFrame]) -> [UInt8] {
        var line = ByteBuffer()
        for (index, frame) in frames.enumerated() {
            frame.encode(into: &line, leadingDelimiter: index == 0)
        }
        return Array(line.readableBytesView)
    }

    /// The frames as mode 1 reads them: each body without its CRC, after its length.
    private static func bodyRecords(_ frames: [LinkFrame]) -> [UInt8] {
        var records = ByteBuffer()
        for frame in frames {
            var body = frame.body
            body.moveWriterIndex(to: body.writerIndex - 4)
            records.writeInteger(UInt16(body.readableBytes))
            records.writeBuffer(&body)
        }
        return Array(records.readableBytesView)
    }
}

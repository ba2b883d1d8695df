import BridgeMQTT
import NIOCore
import NIOTestUtils
import Testing

@Suite("MQTTPacketDecoder on a stream")
struct DecoderStreamingTests {
    @Test("one byte at a time gives the same packets", arguments: SamplePackets.all)
    func dripFed(_ packet: MQTTPacket) throws {
        #expect(try decodeDripFed(encode(packet)) == [packet])
    }

    @Test("all samples back to back, one byte at a time")
    func allSamplesDripFed() throws {
        var stream = ByteBuffer()
        for packet in SamplePackets.all {
            try packet.write(into: &stream)
        }
        #expect(try decodeDripFed(stream) == SamplePackets.all)
    }

    @Test("two packets in one buffer")
    func twoPacketsInOneBuffer() throws {
        var buffer = ByteBuffer()
        let first = MQTTPacket.publish(
            MQTTPublish(topic: "a/b", payload: ByteBuffer(string: "1"), qos: .atLeastOnce, packetId: 5)
        )
        let second = MQTTPacket.pubRel(MQTTPubRel(packetId: 6))
        try first.write(into: &buffer)
        try second.write(into: &buffer)

        var decoder = MQTTPacketDecoder()
        #expect(try decoder.decode(buffer: &buffer) == first)
        #expect(try decoder.decode(buffer: &buffer) == second)
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 0)
    }

    @Test("a packet and the start of the next: the second waits for its bytes")
    func packetAndAHalf() throws {
        var buffer = bytes("c0 00 30 05 00 01 61")  // PINGREQ, then a PUBLISH missing two payload bytes
        var decoder = MQTTPacketDecoder()
        #expect(try decoder.decode(buffer: &buffer) == .pingReq)
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 5)
        buffer.writeBytes([0x62, 0x63])
        #expect(
            try decoder.decode(buffer: &buffer) == .publish(MQTTPublish(topic: "a", payload: ByteBuffer(string: "bc")))
        )
    }

    @Test("an empty buffer needs more data")
    func emptyBuffer() throws {
        var buffer = ByteBuffer()
        var decoder = MQTTPacketDecoder()
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: true) == nil)
    }

    @Test("NIO's ByteToMessageDecoderVerifier accepts the decoder")
    func nioVerifier() throws {
        // The verifier drip-feeds every input ten times through an EmbeddedChannel; the 200 KB sample would take
        // minutes there and adds nothing the other drip tests don't cover.
        let small = SamplePackets.all.filter { packet in (try? encode(packet).readableBytes).map { $0 < 1_024 } ?? false
        }
        #expect(small.count >= 20)
        let pairs = try small.map { packet in (try encode(packet), [packet]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { MQTTPacketDecoder() }
    }

    @Test("a packet exactly at the maximum size decodes; one byte more is refused")
    func maximumPacketSizeBoundary() throws {
        let packet = MQTTPacket.publish(MQTTPublish(topic: "t", payload: ByteBuffer(repeating: 1, count: 100)))
        let encoded = try encode(packet)  // 2-byte fixed header + 3-byte topic + 100-byte payload
        #expect(encoded.readableBytes == 105)
        #expect(try decodeAll(encoded, maximumPacketSize: 105) == [packet])
        #expect(throws: MQTTDecodeError.packetTooLarge(size: 105, maximum: 104)) {
            try decodeAll(encoded, maximumPacketSize: 104)
        }
    }

    @Test("an oversized packet is refused from its fixed header alone, before its body is buffered")
    func oversizedRefusedEarly() throws {
        // PUBLISH announcing a remaining length of 300000 - 4 = 299996 (0xDC 0xA7 0x12).
        var header = bytes("30 dc a7 12")
        var decoder = MQTTPacketDecoder(maximumPacketSize: 262_144)
        #expect(throws: MQTTDecodeError.packetTooLarge(size: 300_000, maximum: 262_144)) {
            try decoder.decode(buffer: &header)
        }
        #expect(
            MQTTDecodeError.packetTooLarge(size: 300_000, maximum: 262_144).description
                == "packet of 300000 bytes exceeds the maximum 262144"
        )
    }

    @Test("the default maximum admits a 256 KiB payload under the longest topic")
    func defaultMaximum() throws {
        let topic = String(repeating: "t", count: 65_535)
        let packet = MQTTPacket.publish(
            MQTTPublish(
                topic: topic,
                payload: ByteBuffer(repeating: 7, count: 256 * 1024),
                qos: .exactlyOnce,
                packetId: 1
            )
        )
        let encoded = try encode(packet)
        #expect(encoded.readableBytes == MQTTPacketDecoder.defaultMaximumPacketSize)
        #expect(try decodeAll(encoded) == [packet])
    }

    @Test("decoded payloads are independent of later writes to the stream buffer")
    func payloadSurvivesBufferReuse() throws {
        var stream = bytes("30 04 00 01 61 62")
        let packet = try #require(try MQTTPacket.decode(from: &stream))
        stream.clear()
        stream.writeBytes([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        guard case .publish(let publish) = packet else {
            Issue.record("expected PUBLISH, got \(packet)")
            return
        }
        #expect(publish.payload == ByteBuffer(string: "b"))
    }
}

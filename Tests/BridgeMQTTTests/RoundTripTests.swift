import BridgeMQTT
import NIOCore
import Testing

@Suite("Encode → decode round trips")
struct RoundTripTests {
    @Test("every packet type decodes back to itself", arguments: SamplePackets.all)
    func roundTrip(_ packet: MQTTPacket) throws {
        let encoded = try encode(packet)
        var buffer = encoded
        let decoded = try MQTTPacket.decode(from: &buffer)
        #expect(decoded == packet)
        #expect(buffer.readableBytes == 0)
        // And the decoded value encodes to the same bytes: nothing was lost or normalised on the way.
        #expect(try encode(#require(decoded)) == encoded)
    }

    @Test("the samples cover every packet type")
    func samplesCoverEveryType() {
        let covered = Set(SamplePackets.all.map(\.type))
        #expect(covered == Set(MQTTPacketType.allCases))
    }

    @Test("the encoder handler writes what write(into:) writes")
    func encoderMatchesWrite() throws {
        let packet = MQTTPacket.publish(MQTTPublish(topic: "a", payload: ByteBuffer(string: "b")))
        var out = ByteBuffer()
        try MQTTPacketEncoder().encode(data: packet, out: &out)
        #expect(out == bytes("30 04 00 01 61 62"))
    }

    @Test("write appends to what the buffer already holds")
    func writeAppends() throws {
        var buffer = ByteBuffer(string: "xy")
        try MQTTPacket.pingReq.write(into: &buffer)
        #expect(buffer == bytes("78 79 c0 00"))
    }
}

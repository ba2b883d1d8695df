import BridgeLink
import NIOCore
import Testing

/// §9 of the spec, byte for byte: a qos 1 PUBLISH of `hi` to `a/b` with message id 1. The firmware
/// tests check the same bytes.
@Suite("Worked example (§9)")
struct WorkedExampleTests {
    static let message = LinkMessage.publish(
        LinkPublish(qos: .atLeastOnce, retain: false, messageID: 1, topic: "a/b", payload: ByteBuffer(string: "hi"))
    )
    static let payload = hexBytes("01 00 01 00 03 61 2f 62 68 69")
    static let body = hexBytes("10 00 01 00 01 00 03 61 2f 62 68 69 5c 2b f4 15")
    static let wire = hexBytes("00 02 10 02 01 02 01 0b 03 61 2f 62 68 69 5c 2b f4 15 00")

    @Test("payload, header and CRC")
    func payloadAndBody() throws {
        let frame = try Self.message.makeFrame()
        #expect(frame.payload.bytes == Self.payload)
        #expect(frame.body.bytes == Self.body)
        #expect(CRC32.checksum(Self.body.dropLast(4)) == 0x5C2B_F415)
        #expect(frame.bodySize == Self.body.count)
        guard case .publish(let publish) = Self.message else { return }
        #expect(publish.bodySize == Self.body.count)
        #expect(LinkPublish.bodySize(topic: "a/b", payloadLength: 2) == 16)
    }

    @Test("the encoder's first frame is the wire bytes")
    func encoderWire() throws {
        let encoder = LinkFrameEncoder()
        var out = ByteBuffer()
        encoder.encode(data: try Self.message.makeFrame(), out: &out)
        #expect(out.bytes == Self.wire)
    }

    @Test("the wire bytes decode to the message")
    func decoderWire() throws {
        let run = try decode(Self.wire)
        #expect(run.outputs.count == 1)
        #expect(try run.frames.map { try LinkMessage(frame: $0, direction: .hostToESP) } == [Self.message])
        #expect(try decodeBytewise(Self.wire).outputs == run.outputs)
    }
}

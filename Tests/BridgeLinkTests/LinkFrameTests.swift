import NIOCore
import Testing

@testable import BridgeLink

@Suite("LinkFrame body and header")
struct LinkFrameTests {
    /// A body with a correct CRC over `headerAndPayload`.
    static func body(_ headerAndPayload: [UInt8]) -> ByteBuffer {
        var body = ByteBuffer(bytes: headerAndPayload)
        body.writeInteger(CRC32.checksum(headerAndPayload), endianness: .big)
        return body
    }

    @Test("the body is header, payload and big-endian CRC")
    func bodyLayout() {
        let frame = LinkFrame(type: .ping, payload: ByteBuffer(bytes: [0xAB, 0x00]))
        let crc = CRC32.checksum([0x05, 0x00, 0xAB, 0x00])
        #expect(frame.body.bytes == [0x05, 0x00, 0xAB, 0x00] + withUnsafeBytes(of: crc.bigEndian, Array.init))
        #expect(frame.flags == [])
        #expect(frame.headerSize == 2)
        #expect(frame.bodySize == 8)
    }

    @Test("a body parses back to the frame")
    func parse() throws {
        let frame = LinkFrame(type: .log, payload: ByteBuffer(bytes: [1, 0x68, 0x69]))
        #expect(try LinkFrame(body: frame.body) == frame)
        let empty = LinkFrame(type: .ping)
        #expect(try LinkFrame(body: empty.body) == empty)
    }

    @Test("a body shorter than 6 bytes is a CRC error", arguments: 0...5)
    func tooShort(length: Int) {
        let body = ByteBuffer(bytes: [UInt8](repeating: 0x11, count: length))
        #expect(throws: LinkFrameError.crc(.bodyTooShort(length: length))) { try LinkFrame(body: body) }
    }

    @Test("a wrong CRC is a CRC error")
    func crcMismatch() {
        var body = Self.body([0x05, 0x00, 0x01])
        body.setInteger(UInt8(0xFF), at: body.writerIndex - 1)
        let computed = CRC32.checksum([0x05, 0x00, 0x01])
        let received = (computed & 0xFFFF_FF00) | 0xFF
        #expect(throws: LinkFrameError.crc(.mismatch(received: received, computed: computed))) {
            try LinkFrame(body: body)
        }
    }

    @Test(
        "reserved flag bits 3–7 are unsupported (§3)",
        arguments: [0x08, 0x10, 0x80, 0x09, 0xFF] as [UInt8])
    func unsupportedFlags(flags: UInt8) {
        let body = Self.body([0x05, flags, 0x01, 0x02, 0x03])
        #expect(throws: LinkFrameError.unsupportedFlags(flags)) { try LinkFrame(body: body) }
    }

    @Test("the reserved header fields of §8 are laid out seq, ack, credit")
    func reservedHeaderFields() throws {
        let frame = LinkFrame(
            type: .publish,
            seq: 7,
            ack: .init(ack: 3, credit: 2),
            more: true,
            payload: ByteBuffer(bytes: [0xAA])
        )
        #expect(frame.flags == [.seq, .ack, .more])
        #expect(frame.headerSize == 5)
        #expect(frame.body.bytes.prefix(6) == [0x10, 0x07, 7, 3, 2, 0xAA])
        #expect(try LinkFrame(body: frame.body, supportedFlags: LinkFrame.Flags.known) == frame)

        let seqOnly = LinkFrame(type: .ping, seq: 200)
        #expect(try LinkFrame(body: seqOnly.body, supportedFlags: LinkFrame.Flags.known) == seqOnly)
    }

    @Test("the message type describes itself by its spec name")
    func typeDescription() {
        #expect(LinkMessageType.pubAck.description == "PUBACK (0x20)")
        #expect(LinkMessageType(0x08).description == "unassigned type 0x08")
        #expect(LinkMessageType.allAssigned.count == 20)
        #expect(LinkMessageType.allAssigned.allSatisfy { $0.isAssigned })
    }

    @Test("directions follow the table of §5")
    func directions() {
        let both: [LinkMessageType] = [.hello, .error, .ping, .pong, .ack]
        let hostToESP: [LinkMessageType] = [.config, .publish, .subscribe, .unsubscribe, .register, .baud]
        let espToHost: [LinkMessageType] = [
            .configAck, .pubAck, .subAck, .message, .wifi, .broker, .log, .stats, .registerFromESP,
        ]
        #expect(Set(both + hostToESP + espToHost) == Set(LinkMessageType.allAssigned))
        for type in both { #expect(type.isHostToESP && type.isESPToHost) }
        for type in hostToESP { #expect(type.isHostToESP && !type.isESPToHost) }
        for type in espToHost { #expect(!type.isHostToESP && type.isESPToHost) }
        for raw in [0x00, 0x08, 0x0F, 0x15, 0x1F, 0x28, 0xFF] as [UInt8] {
            let type = LinkMessageType(raw)
            #expect(!type.isAssigned && !type.isHostToESP && !type.isESPToHost)
        }
    }
}

import BridgeMQTT
import NIOCore
import Testing

/// Bytes from a hex dump such as `"10 14 00 04 4d 51"`; whitespace is ignored.
func bytes(_ hex: String) -> ByteBuffer {
    let digits = hex.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd number of hex digits in \(hex)")
    var buffer = ByteBuffer()
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        buffer.writeInteger(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return buffer
}

/// A packet with a remaining length computed from its body, so malformed cases can be written field by field.
func packet(_ firstByte: UInt8, _ body: [UInt8]) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeInteger(firstByte)
    var length = body.count
    repeat {
        var byte = UInt8(length & 0x7F)
        length >>= 7
        if length > 0 { byte |= 0x80 }
        buffer.writeInteger(byte)
    } while length > 0
    buffer.writeBytes(body)
    return buffer
}

/// An MQTT UTF-8 string field: 16-bit length, then the bytes.
func str(_ string: String) -> [UInt8] {
    let utf8 = Array(string.utf8)
    return [UInt8(utf8.count >> 8), UInt8(utf8.count & 0xFF)] + utf8
}

/// A CONNECT body: variable header from its parts, then the payload bytes.
func connectBody(
    name: String = "MQTT",
    level: UInt8 = 4,
    flags: UInt8 = 0x02,
    keepAlive: UInt16 = 60,
    payload: [UInt8] = str("client")
) -> [UInt8] {
    str(name) + [level, flags, UInt8(keepAlive >> 8), UInt8(keepAlive & 0xFF)] + payload
}

func encode(_ packet: MQTTPacket) throws -> ByteBuffer {
    var buffer = ByteBuffer()
    try packet.write(into: &buffer)
    return buffer
}

/// Feeds the decoder one byte at a time, the worst case a stream socket can produce, and checks that it never
/// consumes bytes while it answers "need more".
func decodeDripFed(_ input: ByteBuffer, decoder: MQTTPacketDecoder = MQTTPacketDecoder()) throws -> [MQTTPacket] {
    var decoder = decoder
    var cumulation = ByteBuffer()
    var packets: [MQTTPacket] = []
    for byte in input.readableBytesView {
        cumulation.writeInteger(byte)
        while true {
            let readerIndex = cumulation.readerIndex
            guard let packet = try decoder.decode(buffer: &cumulation) else {
                #expect(cumulation.readerIndex == readerIndex, "decoder consumed bytes without producing a packet")
                break
            }
            packets.append(packet)
        }
    }
    #expect(cumulation.readableBytes == 0, "bytes left after the last packet")
    return packets
}

/// Decodes every packet of a buffer that holds whole packets only.
func decodeAll(_ input: ByteBuffer, maximumPacketSize: Int = MQTTPacketDecoder.defaultMaximumPacketSize) throws
    -> [MQTTPacket]
{
    var buffer = input
    var packets: [MQTTPacket] = []
    while let packet = try MQTTPacket.decode(from: &buffer, maximumPacketSize: maximumPacketSize) {
        packets.append(packet)
    }
    #expect(buffer.readableBytes == 0, "a partial packet was left over")
    return packets
}

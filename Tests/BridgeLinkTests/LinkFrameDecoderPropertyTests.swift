import BridgeLink
import NIOCore
import Testing

/// Seeded random streams of good frames and garbage (§1: boot logs, noise, zeros, long runs, cut-off
/// and corrupted frames). The properties, for every stream:
///
/// - exactly the good frames that garbage did not touch come out, in order, and nothing else does
///   (a frame is untouched when the byte before it is a delimiter, or it starts the stream);
/// - how the stream is cut into reads changes nothing;
/// - the decoder never holds more than the encoded bound.
@Suite("LinkFrameDecoder on garbage")
struct LinkFrameDecoderPropertyTests {
    static let streamsPerBatch = 300
    static let maximumBodySize = 512

    struct Stream {
        var bytes: [UInt8] = []
        var expected: [LinkFrame] = []
    }

    static func randomPayload(using random: inout SplitMix64) -> [UInt8] {
        let length: Int
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<70: length = Int.random(in: 0...40, using: &random)
        case 70..<95: length = Int.random(in: 41...300, using: &random)
        default: length = Int.random(in: 301...(Self.maximumBodySize - 6), using: &random)
        }
        // Plenty of zeros, so that COBS has short runs to encode as well as long ones.
        let zeroChance = Int.random(in: 0...3, using: &random)
        return (0..<length).map { _ in
            Int.random(in: 0..<10, using: &random) < zeroChance ? 0 : UInt8.random(in: 1...255, using: &random)
        }
    }

    static func randomFrame(using random: inout SplitMix64) -> LinkFrame {
        LinkFrame(
            type: LinkMessageType(UInt8.random(in: 0...255, using: &random)),
            payload: ByteBuffer(bytes: Self.randomPayload(using: &random))
        )
    }

    static func garbage(using random: inout SplitMix64) -> [UInt8] {
        switch Int.random(in: 0..<8, using: &random) {
        case 0:  // noise
            return (0..<Int.random(in: 1...100, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        case 1:  // zeros
            return [UInt8](repeating: 0, count: Int.random(in: 1...5, using: &random))
        case 2:  // a long run, usually longer than the bound
            let byte = UInt8.random(in: 1...255, using: &random)
            return [UInt8](repeating: byte, count: Int.random(in: 300...2000, using: &random))
        case 3:  // a boot log line at the wrong baud rate, or as text
            return Array("ets Jan  8 2013,rst cause:2, boot mode:(3,6)\r\nload 0x40100000, len 2408\r\n".utf8)
                .map { Bool.random(using: &random) ? $0 : $0 ^ 0x80 }
        case 4:  // a frame cut off before its end (never a whole one: that would be a good frame)
            let bytes = wire(Self.randomFrame(using: &random)).dropLast()
            return Array(bytes.prefix(Int.random(in: 1..<bytes.count, using: &random)))
        case 5:  // a frame with one bit flipped in its COBS bytes, delimiter kept
            var bytes = wire(Self.randomFrame(using: &random))
            let index = Int.random(in: 0..<(bytes.count - 1), using: &random)
            bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &random)
            return bytes
        case 6:  // a well-formed frame with a reserved flag bit set: unsupported, never delivered
            var frame = Self.randomFrame(using: &random)
            frame.seq = UInt8.random(in: 0...255, using: &random)
            frame.payload = ByteBuffer(bytes: Array(frame.payload.readableBytesView.prefix(400)))
            var body = frame.body.bytes.dropLast(4)
            body[body.startIndex + 1] |= 1 << UInt8.random(in: 3...7, using: &random)
            let crc = CRC32.checksum(Array(body))
            var buffer = ByteBuffer(bytes: Array(body))
            buffer.writeInteger(crc)
            var out = ByteBuffer()
            COBS.encode(buffer, into: &out)
            out.writeInteger(UInt8(0))
            return out.bytes
        default:  // random bytes with no zero, longer than any frame
            return (0..<Int.random(in: 516...1200, using: &random)).map { _ in UInt8.random(in: 1...255, using: &random)
            }
        }
    }

    static func randomStream(seed: UInt64) -> Stream {
        var random = SplitMix64(seed: seed)
        var stream = Stream()
        for _ in 0..<Int.random(in: 1...12, using: &random) {
            if Int.random(in: 0..<10, using: &random) < 6 {
                let frame = Self.randomFrame(using: &random)
                if Bool.random(using: &random) {
                    stream.bytes.append(0)
                }
                if stream.bytes.last ?? 0 == 0 {
                    stream.expected.append(frame)
                }
                stream.bytes += wire(frame)
            } else {
                stream.bytes += Self.garbage(using: &random)
            }
        }
        return stream
    }

    static func randomReads(of bytes: [UInt8], seed: UInt64) -> [[UInt8]] {
        var random = SplitMix64(seed: seed)
        var reads: [[UInt8]] = []
        var start = 0
        while start < bytes.count {
            let size =
                Bool.random(using: &random)
                ? Int.random(in: 1...8, using: &random) : Int.random(in: 9...700, using: &random)
            let end = min(bytes.count, start + size)
            reads.append(Array(bytes[start..<end]))
            start = end
        }
        return reads
    }

    @Test("only the untouched good frames come out", arguments: 0..<4)
    func garbageBetweenFrames(batch: UInt64) throws {
        let bound = COBS.maximumEncodedLength(bodyLength: Self.maximumBodySize)
        var framesChecked = 0
        for index in 0..<UInt64(Self.streamsPerBatch) {
            let seed = batch << 32 | index
            let stream = Self.randomStream(seed: seed)
            let whole = try decode(stream.bytes, maximumBodySize: Self.maximumBodySize)
            let pieces = try decode(
                reads: Self.randomReads(of: stream.bytes, seed: ~seed),
                maximumBodySize: Self.maximumBodySize
            )
            #expect(whole.frames == stream.expected, "seed \(seed)")
            #expect(pieces.outputs == whole.outputs, "seed \(seed)")
            #expect(pieces.mostBuffered <= bound, "seed \(seed)")
            framesChecked += stream.expected.count
        }
        // Guards the generator: the property means little if hardly any good frame survived.
        #expect(framesChecked > Self.streamsPerBatch)
    }
}

import BridgeLink
import NIOCore
import Testing

@Suite("LinkFrameDecoder")
struct LinkFrameDecoderTests {
    static let first = LinkFrame(type: .ping, payload: ByteBuffer(bytes: [1, 2, 0, 3]))
    static let second = LinkFrame(type: .log, payload: ByteBuffer(string: "\u{1}second frame"))
    static let third = LinkFrame(type: .stats, payload: ByteBuffer(bytes: [UInt8](repeating: 0, count: 12)))

    @Test("two frames in one read")
    func twoFramesInOneBuffer() throws {
        let run = try decode(wire(Self.first, leadingDelimiter: true) + wire(Self.second))
        #expect(run.outputs == [.frame(Self.first), .frame(Self.second)])
        #expect(run.mostBuffered == 0)
    }

    @Test("a frame split across reads is held until its delimiter")
    func splitFrame() throws {
        let bytes = wire(Self.first)
        let run = try decode(reads: [Array(bytes[..<3]), Array(bytes[3...])])
        #expect(run.outputs == [.frame(Self.first)])
    }

    @Test("fed one byte at a time, the decoder yields what it yields fed all at once")
    func bytewiseEqualsWhole() throws {
        var stream = Array("ets Jan  8 2013,rst cause:2, boot mode:(3,6)\r\n".utf8)
        stream += wire(Self.first, leadingDelimiter: true)
        stream += [0x00, 0x00, 0x00]
        stream += wire(Self.second)
        stream += [0x05, 0x11, 0x00]  // framing error
        stream += [0x02, 0x11, 0x00]  // too short
        stream += [UInt8](repeating: 0x41, count: 2000) + [0x00]  // oversize
        stream += wire(Self.third)
        let whole = try decode(stream)
        let bytewise = try decodeBytewise(stream)
        #expect(bytewise.outputs == whole.outputs)
        #expect(whole.frames == [Self.first, Self.second, Self.third])
        #expect(whole.discarded.map(\.kind) == [.framing, .framing, .crc, .oversize])
    }

    @Test("empty chunks are skipped silently")
    func emptyChunks() throws {
        #expect(try decode([0, 0, 0, 0]).outputs.isEmpty)
        #expect(try decode([0, 0] + wire(Self.first) + [0, 0]).outputs == [.frame(Self.first)])
    }

    @Test("a flipped bit anywhere in a frame discards it and the next frame is still read")
    func bitFlips() throws {
        let corrupted = wire(Self.first, leadingDelimiter: true)
        let good = wire(Self.second, leadingDelimiter: true)
        for index in corrupted.indices {
            for bit in 0..<8 {
                var bytes = corrupted
                bytes[index] ^= 1 << bit
                let run = try decode(bytes + good)
                #expect(run.frames == [Self.second], "byte \(index) bit \(bit)")
                #expect(!run.discarded.isEmpty, "byte \(index) bit \(bit)")
            }
        }
    }

    @Test("a frame with SEQ, ACK and MORE set is read with its header fields")
    func sequencedFrame() throws {
        let sequenced = LinkFrame(type: .publish, seq: 9, ack: .init(ack: 4, credit: 8), more: true)
        let run = try decode(wire(sequenced) + wire(Self.first))
        #expect(run.outputs == [.frame(sequenced), .frame(Self.first)])
    }

    @Test("an oversize chunk is discarded without buffering more than the bound")
    func oversize() throws {
        let maximumEncodedSize = COBS.maximumEncodedLength(bodyLength: 512)
        let stream = [UInt8](repeating: 0x41, count: 5000) + [0x00] + wire(Self.first)
        let expected: [LinkFrameDecoder.Output] = [
            .discarded(.oversize(maximumEncodedSize: maximumEncodedSize)), .frame(Self.first),
        ]

        let bytewise = try decodeBytewise(stream)
        #expect(bytewise.outputs == expected)
        #expect(bytewise.mostBuffered <= maximumEncodedSize)

        // In reads of 100 bytes the decoder may hold the last read but never more than the bound.
        let reads = stride(from: 0, to: stream.count, by: 100).map { Array(stream[$0..<min($0 + 100, stream.count)]) }
        let chunked = try decode(reads: reads)
        #expect(chunked.outputs == expected)
        #expect(chunked.mostBuffered <= maximumEncodedSize)

        #expect(try decode(stream).outputs == expected)
    }

    @Test("a chunk exactly at the bound is not oversize; one byte more is")
    func boundary() throws {
        let maximumEncodedSize = COBS.maximumEncodedLength(bodyLength: 512)
        // A body of exactly 512 bytes encodes to at most the bound.
        let largest = LinkFrame(type: .ping, payload: ByteBuffer(bytes: [UInt8](repeating: 0x33, count: 506)))
        #expect(largest.bodySize == 512)
        #expect(try decodeBytewise(wire(largest)).outputs == [.frame(largest)])

        let tooLarge = LinkFrame(type: .ping, payload: ByteBuffer(bytes: [UInt8](repeating: 0x33, count: 507)))
        #expect(
            try decodeBytewise(wire(tooLarge) + wire(Self.first)).outputs == [
                .discarded(.oversize(maximumEncodedSize: maximumEncodedSize)), .frame(Self.first),
            ]
        )
    }

    @Test("a chunk within the encoded bound whose body is still too long is oversize")
    func decodedBodyTooLong() throws {
        // 515 codes 0x01 decode to 514 zero bytes: more than 512, though the chunk fits the bound.
        let chunk = [UInt8](repeating: 0x01, count: 515)
        let run = try decode(chunk + [0x00] + wire(Self.first))
        #expect(run.outputs == [.discarded(.oversize(maximumEncodedSize: 515)), .frame(Self.first)])
    }

    @Test("a larger maximum body accepts larger frames")
    func largerMaximum() throws {
        let big = LinkFrame(type: .ping, payload: ByteBuffer(bytes: [UInt8](repeating: 0x42, count: 3000)))
        #expect(try decode(wire(big)).discarded.map(\.kind) == [.oversize])
        #expect(try decode(wire(big), maximumBodySize: 4096).frames == [big])

        var decoder = LinkFrameDecoder()
        #expect(decoder.maximumEncodedSize == 515)
        decoder.maximumBodySize = 4096
        var buffer = ByteBuffer(bytes: wire(big))
        #expect(decoder.decode(buffer: &buffer) == .frame(big))
    }

    @Test("framing and CRC errors are reported with their cause")
    func errorsReported() throws {
        let run = try decode([0x05, 0x11, 0x22, 0x00, 0x03, 0x11, 0x22, 0x00])
        #expect(
            run.outputs == [
                .discarded(.framing(.cobs(.codePastEnd(offset: 0, code: 5, chunkLength: 3)))),
                .discarded(.crc(.bodyTooShort(length: 2))),
            ]
        )
    }

    @Test(
        "at the end of the stream an unterminated chunk is a framing error, an unfinished oversize one is not reported twice"
    )
    func endOfStream() throws {
        let partial = Array(wire(Self.first).dropLast())
        let run = try decode(reads: [partial], finish: true)
        #expect(run.outputs == [.discarded(.framing(.unterminated(length: partial.count)))])

        let oversize = try decode(reads: [[UInt8](repeating: 0x41, count: 600)], finish: true)
        #expect(oversize.discarded.map(\.kind) == [.oversize])

        let clean = try decode(reads: [wire(Self.first)], finish: true)
        #expect(clean.outputs == [.frame(Self.first)])
    }
}

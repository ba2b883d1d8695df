import BridgeLink
import NIOCore

/// Bytes from a hex string; spaces are ignored ("10 00 5c").
func hexBytes(_ hex: String) -> [UInt8] {
    let digits = hex.filter { !$0.isWhitespace }
    precondition(digits.count.isMultiple(of: 2), "odd number of hex digits")
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

extension ByteBuffer {
    init(hex: String) {
        self.init(bytes: hexBytes(hex))
    }

    /// The readable bytes as an array, for comparisons with readable failure messages.
    var bytes: [UInt8] { Array(self.readableBytesView) }
}

/// SplitMix64: a tiny seeded generator, so that every "random" test is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What feeding a stream to the decoder produced.
struct DecodeRun {
    var outputs: [LinkFrameDecoder.Output] = []
    /// The most bytes the decoder left buffered after any read.
    var mostBuffered = 0

    var frames: [LinkFrame] {
        self.outputs.compactMap {
            if case .frame(let frame) = $0 { return frame }
            return nil
        }
    }

    var discarded: [LinkFrameError] {
        self.outputs.compactMap {
            if case .discarded(let error) = $0 { return error }
            return nil
        }
    }
}

/// Feeds `reads` to a `LinkFrameDecoder` the way a channel would, one read at a time, through NIO's
/// `NIOSingleStepByteToMessageProcessor`; `finish` also signals the end of the stream.
func decode(
    reads: [[UInt8]],
    maximumBodySize: Int = LinkProtocol.minimumMaximumBodySize,
    finish: Bool = false
) throws -> DecodeRun {
    let processor = NIOSingleStepByteToMessageProcessor(LinkFrameDecoder(maximumBodySize: maximumBodySize))
    var run = DecodeRun()
    for read in reads {
        try processor.process(buffer: ByteBuffer(bytes: read)) { run.outputs.append($0) }
        run.mostBuffered = max(run.mostBuffered, processor.unprocessedBytes)
    }
    if finish {
        try processor.finishProcessing(seenEOF: true) { run.outputs.append($0) }
    }
    return run
}

/// Feeds `stream` in one read.
func decode(_ stream: [UInt8], maximumBodySize: Int = LinkProtocol.minimumMaximumBodySize) throws -> DecodeRun {
    try decode(reads: [stream], maximumBodySize: maximumBodySize)
}

/// Feeds `stream` one byte per read.
func decodeBytewise(_ stream: [UInt8], maximumBodySize: Int = LinkProtocol.minimumMaximumBodySize) throws -> DecodeRun {
    try decode(reads: stream.map { [$0] }, maximumBodySize: maximumBodySize)
}

/// The wire bytes of a frame.
func wire(_ frame: LinkFrame, leadingDelimiter: Bool = false) -> [UInt8] {
    var out = ByteBuffer()
    frame.encode(into: &out, leadingDelimiter: leadingDelimiter)
    return out.bytes
}

/// The wire bytes of a message.
func wire(_ message: LinkMessage, leadingDelimiter: Bool = false) throws -> [UInt8] {
    wire(try message.makeFrame(), leadingDelimiter: leadingDelimiter)
}

extension LinkFrameError {
    /// The counter an error goes to, for comparing lists of discards without their details.
    enum Kind: Hashable {
        case oversize, framing, crc, unsupportedFlags
    }

    var kind: Kind {
        switch self {
        case .oversize: return .oversize
        case .framing: return .framing
        case .crc: return .crc
        case .unsupportedFlags: return .unsupportedFlags
        }
    }
}

import NIOCore

/// Consistent Overhead Byte Stuffing (Cheshire and Baker 1999), the framing of §2.
///
/// COBS removes every `0x00` from a frame body so that `0x00` can delimit frames on the line. The
/// functions here work on one body at a time and never write or expect the delimiter itself.
public enum COBS {
    /// The longest a run of non-zero bytes under one code byte can be.
    static let maximumRunLength = 254

    /// The most bytes any encoder may produce for a body of `bodyLength` bytes: one code byte to
    /// start with and one more per full 254-byte run.
    ///
    /// This includes the optional trailing code `0x01` of §2 after a body that ends in a full run
    /// (so `254` gives `256`), which makes it the receiver's bound (§2 rule 2) whatever encoder the
    /// peer uses. `encode(_:into:)` never writes that code, so for such bodies it
    /// writes one byte less than this.
    public static func maximumEncodedLength(bodyLength: Int) -> Int {
        precondition(bodyLength >= 0, "a body cannot have a negative length")
        return bodyLength + 1 + bodyLength / Self.maximumRunLength
    }

    /// Appends the COBS encoding of the readable bytes of `body` to `out`, without a delimiter.
    ///
    /// The encoding is the shortest one: a body that ends in a full 254-byte run gets no trailing
    /// `0x01` code.
    public static func encode(_ body: ByteBuffer, into out: inout ByteBuffer) {
        body.withUnsafeReadableBytes { Self.encode($0, into: &out) }
    }

    /// Appends the COBS encoding of `body` to `out`, without a delimiter.
    public static func encode(_ body: UnsafeRawBufferPointer, into out: inout ByteBuffer) {
        let bound = Self.maximumEncodedLength(bodyLength: body.count)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { destination in
            Self.encode(body, to: destination)
        }
    }

    /// Encodes into memory that has room for `maximumEncodedLength(bodyLength:)` bytes and returns
    /// the number of bytes written. Runs are found and copied in bulk rather than byte by byte.
    private static func encode(_ body: UnsafeRawBufferPointer, to destination: UnsafeMutableRawBufferPointer) -> Int {
        var written = 0
        var runStart = 0

        // Writes one code byte and the run it covers.
        func emit(runEnd: Int) {
            let length = runEnd - runStart
            destination[written] = UInt8(length + 1)
            if length > 0 {
                UnsafeMutableRawBufferPointer(rebasing: destination[(written + 1)..<(written + 1 + length)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: body[runStart..<runEnd]))
            }
            written += length + 1
        }

        while true {
            let searchEnd = min(body.count, runStart + Self.maximumRunLength)
            if let zero = body[runStart..<searchEnd].firstIndex(of: 0) {
                // A code below 0xFF: the run, then the zero it stands for.
                emit(runEnd: zero)
                runStart = zero + 1
                if runStart == body.count {
                    // The body ended in a zero: the last code covers the empty run after it.
                    destination[written] = 0x01
                    written += 1
                    return written
                }
            } else if searchEnd - runStart == Self.maximumRunLength {
                // Code 0xFF: 254 bytes with no zero after them.
                emit(runEnd: searchEnd)
                runStart = searchEnd
                if runStart == body.count {
                    return written
                }
            } else {
                // The last, short run of the body; its implied zero is not part of the body.
                emit(runEnd: searchEnd)
                return written
            }
        }
    }

    /// Decodes a COBS chunk (the bytes between two delimiters) and appends the body to `out`.
    ///
    /// An empty chunk decodes to an empty body. On error nothing is appended.
    ///
    /// - Throws: ``COBSDecodingError`` when a code byte points past the end of the chunk (§2 rule 3)
    ///   or is zero (a zero can only be a delimiter, so the input was not one chunk). Zeros inside
    ///   runs are not looked for: chunks cut at delimiters cannot hold any.
    public static func decode(_ encoded: ByteBuffer, into out: inout ByteBuffer) throws(COBSDecodingError) {
        try encoded.withUnsafeReadableBytes { (source: UnsafeRawBufferPointer) throws(COBSDecodingError) in
            // Every code byte stands for at most one body byte, so the body is shorter than the chunk.
            _ = try out.writeWithUnsafeMutableBytes(minimumWritableBytes: source.count) {
                (destination: UnsafeMutableRawBufferPointer) throws(COBSDecodingError) -> Int in
                try Self.decode(source, to: destination)
            }
        }
    }

    /// Decodes a COBS chunk (the bytes between two delimiters) into a new buffer.
    ///
    /// - Throws: ``COBSDecodingError``; see ``decode(_:into:)``.
    public static func decode(_ encoded: ByteBuffer) throws(COBSDecodingError) -> ByteBuffer {
        var body = ByteBuffer()
        try Self.decode(encoded, into: &body)
        return body
    }

    private static func decode(
        _ source: UnsafeRawBufferPointer,
        to destination: UnsafeMutableRawBufferPointer
    ) throws(COBSDecodingError) -> Int {
        var read = 0
        var written = 0
        while read < source.count {
            let code = source[read]
            guard code != 0 else {
                throw .zeroByte(offset: read)
            }
            let runStart = read + 1
            let runEnd = read + Int(code)
            guard runEnd <= source.count else {
                throw .codePastEnd(offset: read, code: code, chunkLength: source.count)
            }
            let length = runEnd - runStart
            if length > 0 {
                UnsafeMutableRawBufferPointer(rebasing: destination[written..<(written + length)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[runStart..<runEnd]))
                written += length
            }
            read = runEnd
            // The zero a code below 0xFF stands for belongs to the body unless this was the last code.
            if code != 0xFF && read < source.count {
                destination[written] = 0
                written += 1
            }
        }
        return written
    }
}

/// Why a chunk is not valid COBS: a *framing* error in the terms of §2.
public enum COBSDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The code byte at `offset` announces a run that goes past the end of the chunk (§2 rule 3).
    case codePastEnd(offset: Int, code: UInt8, chunkLength: Int)
    /// The chunk holds a zero at `offset`; COBS output never does, so the input was not one chunk.
    case zeroByte(offset: Int)

    public var description: String {
        switch self {
        case .codePastEnd(let offset, let code, let chunkLength):
            return
                "COBS code 0x\(String(code, radix: 16)) at offset \(offset) points past the end of the \(chunkLength)-byte chunk"
        case .zeroByte(let offset):
            return "COBS chunk holds a zero byte at offset \(offset)"
        }
    }
}

/// Why the receiver discarded a chunk of the line (§2, §3).
///
/// One case per counter the spec names (oversize, framing, CRC, unsupported), each with the detail
/// of what was wrong. These are never answered on the line, only counted (§7): the chunk may not be
/// ours at all.
public enum LinkFrameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What made a chunk a framing error.
    public enum FramingFailure: Hashable, Sendable, CustomStringConvertible {
        /// The chunk is not valid COBS (§2 rule 3).
        case cobs(COBSDecodingError)
        /// The stream ended inside a chunk of `length` bytes that no delimiter closed.
        case unterminated(length: Int)

        public var description: String {
            switch self {
            case .cobs(let error): return "\(error)"
            case .unterminated(let length): return "stream ended inside a \(length)-byte chunk"
            }
        }
    }

    /// What made a chunk a CRC error (§2 rule 4).
    public enum CRCFailure: Hashable, Sendable, CustomStringConvertible {
        /// The decoded body is shorter than the 6 bytes of type, flags and CRC.
        case bodyTooShort(length: Int)
        /// The CRC at the end of the body does not match the one computed over the rest.
        case mismatch(received: UInt32, computed: UInt32)

        public var description: String {
            switch self {
            case .bodyTooShort(let length):
                return "body of \(length) bytes is shorter than a header and CRC"
            case .mismatch(let received, let computed):
                return "received 0x\(hex32(received)), computed 0x\(hex32(computed))"
            }
        }
    }

    /// The chunk is longer than `maximumEncodedSize`, the encoded size of the largest body the
    /// receiver accepts, or it decodes to a body longer than that body (§2 rule 2). The decoder
    /// dropped it without buffering more than the bound.
    case oversize(maximumEncodedSize: Int)
    /// The chunk is not valid COBS, or was cut off by the end of the stream (§2 rule 3).
    case framing(FramingFailure)
    /// The body is too short or its CRC does not match (§2 rule 4).
    case crc(CRCFailure)
    /// The header sets `SEQ`, `ACK`, `MORE` or a reserved bit (§3); the raw flags byte.
    case unsupportedFlags(UInt8)

    public var description: String {
        switch self {
        case .oversize(let maximumEncodedSize):
            return "oversize chunk: longer than \(maximumEncodedSize) encoded bytes"
        case .framing(let failure):
            return "framing error: \(failure)"
        case .crc(let failure):
            return "CRC error: \(failure)"
        case .unsupportedFlags(let flags):
            return "unsupported frame: flags 0x\(String(flags, radix: 16)) set"
        }
    }
}

private func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

/// Why a frame that passed the framing checks could not be read as a message (§5, §7).
///
/// Unlike ``LinkFrameError`` these are answered on the line: ``errorCode`` gives the ERROR code.
public enum LinkMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The frame's type is unassigned in this revision.
    case unknownType(UInt8)
    /// The frame's type is assigned but may not travel in this direction (§5).
    case wrongDirection(LinkMessageType, LinkDirection)
    /// A HELLO carries a protocol version this module does not speak (§7). The rest of its payload is
    /// not read, as another version may lay it out differently.
    case unsupportedVersion(UInt8)
    /// The payload is shorter than the message's required fields, or a value is out of range.
    case malformed(LinkMessageType, String)

    /// The ERROR code that answers this error (§7).
    public var errorCode: LinkError.Code {
        switch self {
        case .unknownType, .wrongDirection: return .unknownType
        case .unsupportedVersion: return .version
        case .malformed: return .malformed
        }
    }

    public var description: String {
        switch self {
        case .unknownType(let type):
            return "\(LinkMessageType(type))"
        case .wrongDirection(let type, let direction):
            return "\(type) may not be sent \(direction)"
        case .unsupportedVersion(let version):
            return "HELLO with link protocol version \(version); this side speaks \(LinkProtocol.version)"
        case .malformed(let type, let detail):
            return "malformed \(type.name ?? type.description): \(detail)"
        }
    }
}

/// Why a message could not be put into a frame.
public enum LinkMessageEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A string or value of `length` bytes does not fit its length prefix, which allows `maximum`.
    /// The spec wants such a message refused with a clear error, never truncated (§3).
    case fieldTooLong(LinkMessageType, field: String, length: Int, maximum: Int)

    public var description: String {
        switch self {
        case .fieldTooLong(let type, let field, let length, let maximum):
            return "\(type.name ?? type.description) field \(field) is \(length) bytes, at most \(maximum) fit"
        }
    }
}

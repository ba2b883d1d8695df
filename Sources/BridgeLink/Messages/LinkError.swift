/// ERROR (0x04, both directions): a protocol error (§5.4, §7).
///
/// A receiver logs an ERROR and never answers one with another. This is a message on the line, not
/// a Swift `Error`; the codec's errors are ``LinkFrameError`` and ``LinkMessageError``.
public struct LinkError: Hashable, Sendable {
    /// The error codes of §7.
    ///
    /// Open-ended so that an ERROR with a code from a later revision can still be logged with its
    /// detail instead of being dropped as malformed.
    public enum Code: Hashable, Sendable, CustomStringConvertible {
        /// `1`: a HELLO carries a version this side does not speak.
        case version
        /// `2`: a frame has an unassigned type or one sent in the wrong direction.
        case unknownType
        /// `3`: a payload is shorter than its required fields or a value is out of range.
        case malformed
        /// `4`: a message needs a configuration first.
        case notConfigured
        /// `5`: a frame exceeded the `max_body` announced.
        case tooLarge
        /// A code the spec does not list. `init(rawValue:)` never produces it for a listed code.
        case other(UInt8)

        /// The code for a `code` byte.
        public init(rawValue: UInt8) {
            switch rawValue {
            case 1: self = .version
            case 2: self = .unknownType
            case 3: self = .malformed
            case 4: self = .notConfigured
            case 5: self = .tooLarge
            default: self = .other(rawValue)
            }
        }

        /// The `code` byte.
        public var rawValue: UInt8 {
            switch self {
            case .version: return 1
            case .unknownType: return 2
            case .malformed: return 3
            case .notConfigured: return 4
            case .tooLarge: return 5
            case .other(let value): return value
            }
        }

        /// The spec's name, e.g. `unknown-type`.
        public var description: String {
            switch self {
            case .version: return "version"
            case .unknownType: return "unknown-type"
            case .malformed: return "malformed"
            case .notConfigured: return "not-configured"
            case .tooLarge: return "too-large"
            case .other(let value): return "error code \(value)"
            }
        }
    }

    /// What went wrong.
    public var code: Code
    /// Human-readable text for the log.
    public var detail: String

    /// An ERROR.
    public init(code: Code, detail: String = "") {
        self.code = code
        self.detail = detail
    }

    /// The ERROR that answers a frame `LinkMessage(frame:direction:)` refused: the matching code
    /// and the error's description as detail.
    ///
    /// The session should not send it when the refused frame was itself an ERROR (§5.4), and for
    /// ``LinkMessageError/unsupportedVersion(_:)`` §7 asks for a more helpful detail that names
    /// both versions and what to do.
    public init(answering error: LinkMessageError) {
        self.init(code: error.errorCode, detail: error.description)
    }
}

extension LinkError: LinkPayloadCodable {
    static var messageType: LinkMessageType { .error }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let code = Code(rawValue: try reader.readU8("code"))
        self.init(code: code, detail: try reader.readStr8("detail"))
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU8(self.code.rawValue)
        try writer.writeStr8(self.detail, field: "detail")
    }
}

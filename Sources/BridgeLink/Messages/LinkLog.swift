/// LOG (0x25, ESP to host): a line for the host's log (§5.14).
public struct LinkLog: Hashable, Sendable {
    /// The severity.
    ///
    /// Open-ended so that a line with a level from a later revision is still logged, not dropped.
    public enum Level: Hashable, Sendable, CustomStringConvertible {
        /// `0`: debug.
        case debug
        /// `1`: info.
        case info
        /// `2`: warning.
        case warning
        /// `3`: error.
        case error
        /// A level the spec does not list. `init(rawValue:)` never produces it for a listed level.
        case other(UInt8)

        /// The level for a `level` byte.
        public init(rawValue: UInt8) {
            switch rawValue {
            case 0: self = .debug
            case 1: self = .info
            case 2: self = .warning
            case 3: self = .error
            default: self = .other(rawValue)
            }
        }

        /// The `level` byte.
        public var rawValue: UInt8 {
            switch self {
            case .debug: return 0
            case .info: return 1
            case .warning: return 2
            case .error: return 3
            case .other(let value): return value
            }
        }

        public var description: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warning: return "warning"
            case .error: return "error"
            case .other(let value): return "level \(value)"
            }
        }
    }

    /// The severity.
    public var level: Level
    /// The line, UTF-8.
    public var text: String

    /// A log line.
    public init(level: Level, text: String) {
        self.level = level
        self.text = text
    }
}

extension LinkLog: LinkPayloadCodable {
    static var messageType: LinkMessageType { .log }

    init(from reader: inout LinkPayloadReader) throws(LinkMessageError) {
        let level = Level(rawValue: try reader.readU8("level"))
        self.init(level: level, text: reader.readRestString())
    }

    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError) {
        writer.writeU8(self.level.rawValue)
        writer.writeRest(self.text)
    }
}

/// A topic name: what a PUBLISH is sent to (MQTT 3.1.1 §4.7). Levels are separated by `/`; no wildcards.
public struct TopicName: Sendable, CustomStringConvertible {
    /// The validated name.
    public let string: String

    /// Validates a topic name.
    ///
    /// - Throws: ``TopicError`` if the name is empty, longer than 65535 bytes, contains U+0000 or a wildcard.
    public init(_ string: String) throws(TopicError) {
        try Self.validate(string)
        self.string = string
    }

    /// Checks a string is a valid topic name without wrapping it.
    ///
    /// - Throws: ``TopicError`` if the name is empty, longer than 65535 bytes, contains U+0000 or a wildcard.
    public static func validate(_ string: String) throws(TopicError) {
        let problem: TopicError? = withUTF8Bytes(string) { bytes in
            guard !bytes.isEmpty else { return .empty }
            guard bytes.count <= 65_535 else { return .tooLong(byteCount: bytes.count) }
            for byte in bytes {
                switch byte {
                case 0: return .nullCharacter
                case TopicByte.singleLevel, TopicByte.multiLevel: return .wildcardInTopicName(Unicode.Scalar(byte))
                default: continue
                }
            }
            return nil
        }
        if let problem { throw problem }
    }

    public var description: String { self.string }
}

extension TopicName: Hashable {
    // Byte-wise, like TopicFilter: topics are never Unicode-normalised (MQTT-4.7.3-4).
    public static func == (lhs: TopicName, rhs: TopicName) -> Bool {
        sameBytes(lhs.string, rhs.string)
    }

    public func hash(into hasher: inout Hasher) {
        withUTF8Bytes(self.string) { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// A topic filter: what a subscription asks for, possibly with wildcards (MQTT 3.1.1 §4.7).
///
/// `+` matches exactly one level, `#` matches the parent level and any number of levels below it. Equality and
/// hashing compare bytes, never Unicode-normalised text (MQTT-4.7.3-4), so UNSUBSCRIBE removes exactly the filter
/// that was subscribed.
public struct TopicFilter: Sendable, CustomStringConvertible {
    /// The validated filter.
    public let string: String
    /// Whether the filter contains `+` or `#`; without them it matches one topic name, byte for byte.
    public let hasWildcards: Bool

    /// Validates a topic filter.
    ///
    /// - Throws: ``TopicError`` if the filter is empty, longer than 65535 bytes, contains U+0000, has a `+` that is
    ///   not a whole level, or a `#` that is not the whole last level.
    public init(_ string: String) throws(TopicError) {
        let result: Result<Bool, TopicError> = withUTF8Bytes(string) { bytes in
            guard !bytes.isEmpty else { return .failure(.empty) }
            guard bytes.count <= 65_535 else { return .failure(.tooLong(byteCount: bytes.count)) }
            var hasWildcards = false
            for index in bytes.indices {
                let startsLevel = index == 0 || bytes[index - 1] == TopicByte.separator
                let endsLevel = index == bytes.count - 1 || bytes[index + 1] == TopicByte.separator
                switch bytes[index] {
                case 0:
                    return .failure(.nullCharacter)
                case TopicByte.singleLevel:
                    guard startsLevel && endsLevel else { return .failure(.singleLevelWildcardNotAlone) }
                    hasWildcards = true
                case TopicByte.multiLevel:
                    guard startsLevel && index == bytes.count - 1 else { return .failure(.multiLevelWildcardNotLast) }
                    hasWildcards = true
                default:
                    continue
                }
            }
            return .success(hasWildcards)
        }
        self.hasWildcards = try result.get()
        self.string = string
    }

    public var description: String { self.string }
}

extension TopicFilter: Hashable {
    public static func == (lhs: TopicFilter, rhs: TopicFilter) -> Bool {
        sameBytes(lhs.string, rhs.string)
    }

    public func hash(into hasher: inout Hasher) {
        withUTF8Bytes(self.string) { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

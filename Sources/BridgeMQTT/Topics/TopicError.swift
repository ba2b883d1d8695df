/// Why a string is not a valid topic name or topic filter (MQTT 3.1.1 §4.7).
///
/// Descriptions are predicates ("is empty") so they complete a sentence naming the topic.
public enum TopicError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Topic names and filters are at least one character long (MQTT-4.7.3-1).
    case empty
    /// More than 65535 bytes of UTF-8 (MQTT-4.7.3-3).
    case tooLong(byteCount: Int)
    /// Contains U+0000 (MQTT-4.7.3-2).
    case nullCharacter
    /// A topic name contains `+` or `#`, which only filters may use (MQTT-4.7.1-1).
    case wildcardInTopicName(Unicode.Scalar)
    /// A `+` shares its level with other characters, as in `sport+` (MQTT-4.7.1-3).
    case singleLevelWildcardNotAlone
    /// A `#` is not alone in the last level, as in `sport#` or `sport/#/ranking` (MQTT-4.7.1-2).
    case multiLevelWildcardNotLast

    public var description: String {
        switch self {
        case .empty: "is empty"
        case .tooLong(let count): "is \(count) bytes long (the maximum is 65535)"
        case .nullCharacter: "contains U+0000"
        case .wildcardInTopicName(let scalar): "contains the wildcard '\(scalar)'"
        case .singleLevelWildcardNotAlone: "has a '+' that does not occupy a whole level"
        case .multiLevelWildcardNotLast: "has a '#' that is not alone in the last level"
        }
    }
}

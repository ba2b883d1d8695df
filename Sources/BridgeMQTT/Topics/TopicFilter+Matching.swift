extension TopicFilter {
    /// Whether a topic name matches this filter, by the rules of MQTT 3.1.1 §4.7.
    ///
    /// - `+` matches exactly one level, including an empty one: `sport/+` matches `sport/` but not `sport`.
    /// - `#` matches its parent level and everything below: `sport/#` matches `sport`, `sport/` and `sport/a/b`.
    /// - A filter starting with a wildcard does not match a topic starting with `$` (MQTT-4.7.2-1), so `#` does not
    ///   receive `$SYS/…`.
    /// - Levels compare byte for byte; nothing is normalised (MQTT-4.7.3-4).
    ///
    /// This runs for every message against every subscription, so it walks both strings' UTF-8 in place and
    /// allocates nothing.
    ///
    /// - Parameter topicName: The topic of a PUBLISH; not validated here.
    public func matches(_ topicName: String) -> Bool {
        if !self.hasWildcards {
            return sameBytes(self.string, topicName)
        }
        return withUTF8Bytes(self.string) { filter in
            withUTF8Bytes(topicName) { topic in
                Self.matches(filter: filter, topic: topic)
            }
        }
    }

    /// Matches a valid filter against a topic, level by level.
    ///
    /// Both indices always sit at the start of a level. `topicExhausted` distinguishes "the topic's last level was
    /// empty" (`sport/`) from "the topic has no more levels" (`sport`), which `+` and `#` treat differently.
    private static func matches(filter: UnsafeBufferPointer<UInt8>, topic: UnsafeBufferPointer<UInt8>) -> Bool {
        let startsWithWildcard = filter[0] == TopicByte.singleLevel || filter[0] == TopicByte.multiLevel
        if startsWithWildcard && topic.first == TopicByte.dollar { return false }
        var f = 0
        var t = 0
        var topicExhausted = false
        while true {
            // `#` is validated to be the whole last level: it matches whatever is left, including nothing.
            if f < filter.count && filter[f] == TopicByte.multiLevel { return true }
            if topicExhausted { return false }

            if f < filter.count && filter[f] == TopicByte.singleLevel {
                f += 1
                while t < topic.count && topic[t] != TopicByte.separator { t += 1 }
            } else {
                while f < filter.count && filter[f] != TopicByte.separator {
                    guard t < topic.count && topic[t] == filter[f] else { return false }
                    f += 1
                    t += 1
                }
                // The filter's level ended; the topic's level must end here too.
                if t < topic.count && topic[t] != TopicByte.separator { return false }
            }

            // Both at a separator or at the end.
            if f == filter.count { return t == topic.count }
            f += 1
            if t == topic.count {
                topicExhausted = true
            } else {
                t += 1
            }
        }
    }
}

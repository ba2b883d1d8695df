import BridgeMQTT
import Testing

@Suite("Topic filter and topic name validation")
struct TopicValidationTests {
    @Test(
        "valid filters",
        arguments: [
            "#", "+", "+/+", "/", "//", "/#", "/+", "sport", "sport/#", "sport/tennis/#", "sport/+/player1",
            "+/tennis/#",
            "$SYS/#", "$SYS/monitor/+", "sport tennis", "température/+", "a/+/+/#", "\u{1F600}/+",
        ]
    )
    func validFilter(_ string: String) throws {
        let filter = try TopicFilter(string)
        #expect(filter.string == string)
    }

    @Test(
        "invalid filters",
        arguments: [
            ("", TopicError.empty),
            ("sport+", .singleLevelWildcardNotAlone),
            ("+sport", .singleLevelWildcardNotAlone),
            ("sp+ort", .singleLevelWildcardNotAlone),
            ("sport/+tennis", .singleLevelWildcardNotAlone),
            ("++", .singleLevelWildcardNotAlone),
            ("sport#", .multiLevelWildcardNotLast),
            ("sport/tennis#", .multiLevelWildcardNotLast),
            ("sport/tennis/#/ranking", .multiLevelWildcardNotLast),
            ("#/a", .multiLevelWildcardNotLast),
            ("##", .multiLevelWildcardNotLast),
            ("a/#b", .multiLevelWildcardNotLast),
            ("a/#/", .multiLevelWildcardNotLast),
            ("a\u{0}b", .nullCharacter),
        ]
    )
    func invalidFilter(_ string: String, error: TopicError) {
        #expect(throws: error) { try TopicFilter(string) }
    }

    @Test("a filter may be 65535 bytes of UTF-8, not one more")
    func filterLength() throws {
        _ = try TopicFilter(String(repeating: "a", count: 65_535))
        #expect(throws: TopicError.tooLong(byteCount: 65_536)) {
            try TopicFilter(String(repeating: "a", count: 65_536))
        }
        // The limit counts bytes, not characters: 21846 three-byte characters are 65538 bytes.
        #expect(throws: TopicError.tooLong(byteCount: 65_538)) {
            try TopicFilter(String(repeating: "€", count: 21_846))
        }
    }

    @Test(
        "valid topic names",
        arguments: ["a", "/", "//", "sport/tennis/player1", "$SYS/broker", "a b", "température"]
    )
    func validName(_ string: String) throws {
        try TopicName.validate(string)
        #expect(try TopicName(string).string == string)
    }

    @Test(
        "invalid topic names",
        arguments: [
            ("", TopicError.empty),
            ("a/+", .wildcardInTopicName("+")),
            ("+", .wildcardInTopicName("+")),
            ("sport/#", .wildcardInTopicName("#")),
            ("a#b", .wildcardInTopicName("#")),
            ("a\u{0}", .nullCharacter),
        ]
    )
    func invalidName(_ string: String, error: TopicError) {
        #expect(throws: error) { try TopicName.validate(string) }
        #expect(throws: error) { try TopicName(string) }
    }

    @Test("a topic name may be 65535 bytes, not one more")
    func nameLength() throws {
        try TopicName.validate(String(repeating: "n", count: 65_535))
        #expect(throws: TopicError.tooLong(byteCount: 65_536)) {
            try TopicName.validate(String(repeating: "n", count: 65_536))
        }
    }

    @Test("filters compare byte for byte, so canonically equivalent spellings stay distinct")
    func byteWiseEquality() throws {
        let precomposed = try TopicFilter("caf\u{E9}")
        let decomposed = try TopicFilter("cafe\u{301}")
        // Swift's String == would call these equal; MQTT must not (MQTT-4.7.3-4).
        #expect("caf\u{E9}" == "cafe\u{301}")
        #expect(precomposed != decomposed)
        #expect(Set([precomposed, decomposed]).count == 2)
        #expect(Set([try TopicFilter("a/+"), try TopicFilter("a/+")]).count == 1)
        #expect(try TopicName("caf\u{E9}") != TopicName("cafe\u{301}"))
    }

    @Test("errors read as sentences about the topic")
    func descriptions() {
        #expect(TopicError.empty.description == "is empty")
        #expect(TopicError.wildcardInTopicName("#").description == "contains the wildcard '#'")
        #expect(TopicError.tooLong(byteCount: 70_000).description == "is 70000 bytes long (the maximum is 65535)")
    }
}

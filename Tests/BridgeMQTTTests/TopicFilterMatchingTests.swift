import BridgeMQTT
import Testing

/// (filter, topic name, matches?) — the spec's examples from §4.7 first, then the edges around them.
let matchingTable: [(String, String, Bool)] = [
    // §4.7.1.2 multi-level wildcard.
    ("sport/tennis/player1/#", "sport/tennis/player1", true),
    ("sport/tennis/player1/#", "sport/tennis/player1/ranking", true),
    ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true),
    ("sport/#", "sport", true),
    ("#", "sport/tennis/player1", true),
    // §4.7.1.3 single-level wildcard.
    ("sport/tennis/+", "sport/tennis/player1", true),
    ("sport/tennis/+", "sport/tennis/player2", true),
    ("sport/tennis/+", "sport/tennis/player1/ranking", false),
    ("sport/+", "sport", false),
    ("sport/+", "sport/", true),
    ("+/+", "/finance", true),
    ("/+", "/finance", true),
    ("+", "/finance", false),
    ("sport/+/player1", "sport/tennis/player1", true),
    ("sport/+/player1", "sport/tennis/player2", false),
    ("+/tennis/#", "sport/tennis/player1/ranking", true),
    ("+/tennis/#", "sport/tennis", true),
    // §4.7.2 topics beginning with '$'.
    ("#", "$SYS/broker/uptime", false),
    ("+/monitor/Clients", "$SYS/monitor/Clients", false),
    ("$SYS/#", "$SYS/monitor/Clients", true),
    ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
    ("+", "$SYS", false),
    ("#", "$", false),
    ("$SYS", "$SYS", true),
    ("+/$SYS", "a/$SYS", true),  // only a '$' at the very start is special
    ("a/#", "a/$SYS", true),
    // Exact filters: case-sensitive, byte for byte, separators count.
    ("sport/tennis", "sport/tennis", true),
    ("sport/tennis", "sport/Tennis", false),
    ("sport/tennis", "sport/tennis/", false),
    ("sport/tennis/", "sport/tennis", false),
    ("sport", "sport/tennis", false),
    ("sport/ten", "sport/tennis", false),
    ("/", "/", true),
    ("sport tennis/x", "sport tennis/x", true),
    // '+' matches empty levels, never zero levels.
    ("sport/+/player1", "sport//player1", true),
    ("+/+", "/", true),
    ("+", "a", true),
    ("+/+", "a", false),
    ("+/+/+", "a/b", false),
    ("sport/+/+", "sport/tennis", false),
    ("a/+/#", "a", false),
    ("a/+/#", "a/b", true),
    ("+/#", "a", true),
    ("+/#", "a/b/c", true),
    // '#' matches the parent level, empty levels and everything below.
    ("a/#", "a/", true),
    ("a/#", "a//", true),
    ("/#", "/", true),
    ("/#", "a", false),
    ("sport/tennis/#", "sport/tennisplayer", false),
    ("sport/tennis/#", "sport", false),
    ("#", "/", true),
    // Non-ASCII, never normalised (MQTT-4.7.3-4): precomposed é is not e + combining acute.
    ("café/+", "café/terrasse", true),
    ("caf\u{E9}", "cafe\u{301}", false),
    ("caf\u{E9}/#", "cafe\u{301}/x", false),
    ("+/\u{E9}", "a/e\u{301}", false),
]

@Suite("TopicFilter.matches")
struct TopicFilterMatchingTests {
    @Test("the matching table", arguments: matchingTable)
    func table(filter: String, topic: String, expected: Bool) throws {
        let topicFilter = try TopicFilter(filter)
        #expect(topicFilter.matches(topic) == expected, "'\(filter)' vs '\(topic)'")
    }

    @Test("the table is long enough to mean something")
    func tableSize() {
        #expect(matchingTable.count >= 30)
        #expect(matchingTable.contains { $0.2 } && matchingTable.contains { !$0.2 })
    }

    @Test("a filter without wildcards matches only the identical topic")
    func exactFilter() throws {
        let exact = try TopicFilter("home/kitchen/temp")
        #expect(!exact.hasWildcards)
        #expect(exact.matches("home/kitchen/temp"))
        #expect(!exact.matches("home/kitchen/temp2"))
        #expect(try TopicFilter("home/+/temp").hasWildcards)
        #expect(try TopicFilter("#").hasWildcards)
    }

    @Test("long topics with many levels")
    func manyLevels() throws {
        let levels = (0..<1_000).map { "l\($0)" }
        let topic = levels.joined(separator: "/")
        #expect(try TopicFilter("l0/#").matches(topic))
        #expect(try TopicFilter(Array(repeating: "+", count: 1_000).joined(separator: "/")).matches(topic))
        #expect(!(try TopicFilter(Array(repeating: "+", count: 999).joined(separator: "/")).matches(topic)))
        #expect(try TopicFilter(topic).matches(topic))
    }
}

import Testing

@testable import BridgeLink

@Suite("TopicIDAssigner (§8.7 host policy)")
struct TopicIDAssignerTests {
    static func assigner(capacity: Int = 8) -> TopicIDAssigner {
        TopicIDAssigner(capacity: capacity, maximumTopicLength: 40)
    }

    /// Registrations the choices of `topics`, in order, amounted to.
    static func registrations(_ assigner: inout TopicIDAssigner, _ topics: [String]) -> Int {
        topics.map { assigner.choose(for: $0) }.filter { if case .register = $0 { return true } else { return false } }
            .count
    }

    @Test("a topic goes by name once, gets an id on its second use, and keeps it")
    func secondUseRegisters() {
        var assigner = Self.assigner()
        #expect(assigner.choose(for: "a/b") == .name)
        #expect(assigner.choose(for: "a/b") == .register(1))
        #expect(assigner.choose(for: "a/b") == .id(1))
        #expect(assigner.choose(for: "c") == .name)
        #expect(assigner.choose(for: "c") == .register(2))
        #expect(assigner.topic(for: 2) == "c")
        #expect(assigner.count == 2)
    }

    @Test("no ids without max_topics, for empty topics or for topics over the length limit")
    func outsideTheLimits() {
        var none = Self.assigner(capacity: 0)
        #expect((0..<5).map { _ in none.choose(for: "t") }.allSatisfy { $0 == .name })
        var assigner = Self.assigner()
        let fits = String(repeating: "x", count: 40)
        let tooLong = fits + "x"
        #expect((0..<3).map { _ in assigner.choose(for: tooLong) }.allSatisfy { $0 == .name })
        #expect((0..<3).map { _ in assigner.choose(for: "") }.allSatisfy { $0 == .name })
        #expect(assigner.choose(for: fits) == .name)
        #expect(assigner.choose(for: fits) == .register(1))
    }

    @Test("a topic reused only after more than 4 × max_topics publishes never gets an id")
    func distantReuse() {
        var assigner = Self.assigner(capacity: 2)  // window: 8 publishes
        #expect(assigner.choose(for: "rare") == .name)
        for index in 0..<8 { _ = assigner.choose(for: "once/\(index)") }
        #expect(assigner.choose(for: "rare") == .name)
        #expect(assigner.choose(for: "rare") == .register(1))
    }

    @Test("ids run out: the least recently used one is replaced only once it has been idle for the window")
    func replacesLeastRecentlyUsed() {
        var assigner = Self.assigner(capacity: 2)  // window: 8 publishes
        _ = Self.registrations(&assigner, ["a", "a", "b", "b"])  // a: 1, b: 2
        #expect(assigner.choose(for: "a") == .id(1))  // b is now the least recently used
        #expect(assigner.choose(for: "c") == .name)
        #expect(assigner.choose(for: "c") == .name, "b was used 3 publishes ago: it keeps its id")
        for index in 0..<6 { _ = assigner.choose(for: "once/\(index)") }
        #expect(assigner.choose(for: "d") == .name)
        #expect(assigner.choose(for: "d") == .register(2), "b idle for 11 publishes: its id goes to d")
        #expect(assigner.topic(for: 2) == "d")
        #expect(assigner.choose(for: "b") == .name)
        #expect(assigner.count == 2)
    }

    @Test(
        "a round robin over more topics than ids does not churn",
        arguments: [9, 12, 32, 33, 100])
    func noChurn(topicCount: Int) {
        var assigner = Self.assigner(capacity: 8)
        let topics = (0..<topicCount).map { "topic/\($0)" }
        let first = Self.registrations(&assigner, topics + topics)
        let later = Self.registrations(&assigner, Array(repeating: topics, count: 10).flatMap { $0 })
        #expect(first <= 8)
        #expect(later == 0)
    }

    @Test("an excluded topic goes by name for the rest of the session; reset() forgets everything")
    func excludeAndReset() {
        var assigner = Self.assigner()
        _ = Self.registrations(&assigner, ["a", "a"])
        assigner.exclude("a")
        #expect(assigner.count == 0)
        #expect((0..<3).map { _ in assigner.choose(for: "a") }.allSatisfy { $0 == .name })
        assigner.reset()
        #expect(assigner.choose(for: "a") == .name)
        #expect(assigner.choose(for: "a") == .register(1))
    }
}

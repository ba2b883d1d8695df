import BridgeMQTT
import NIOCore
import Testing

@testable import BridgeCore

@Suite struct RetainedCacheTests {
    private func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func storesReplacesAndClearsWithAnEmptyPayload() throws {
        var cache = RetainedCache(maximumMessages: 10, maximumBytes: 1000)
        cache.store(topic: "a/b", payload: bytes("1"), qos: .atLeastOnce)
        cache.store(topic: "a/b", payload: bytes("22"), qos: .atMostOnce)
        #expect(cache.count == 1)
        #expect(cache.message(for: "a/b")?.payload == bytes("22"))
        #expect(cache.totalBytes == 3 + 2)
        cache.store(topic: "a/b", payload: ByteBuffer(), qos: .atMostOnce)
        #expect(cache.count == 0)
        #expect(cache.totalBytes == 0)
        #expect(cache.evictions == 0, "clearing is not evicting")
    }

    @Test func servesTheMessagesMatchingAFilterByTopic() throws {
        var cache = RetainedCache(maximumMessages: 10, maximumBytes: 1000)
        for topic in ["home/z", "home/a", "home/a/deep", "other"] {
            cache.store(topic: topic, payload: bytes(topic), qos: .atLeastOnce)
        }
        #expect(cache.matching(try TopicFilter("home/+")).map(\.topic) == ["home/a", "home/z"])
        #expect(cache.matching(try TopicFilter("#")).count == 4)
        #expect(cache.matching(try TopicFilter("none/#")).isEmpty)
    }

    @Test func evictsTheMessageStoredLongestAgoWhenTooManyAreKept() {
        var cache = RetainedCache(maximumMessages: 2, maximumBytes: 1000)
        cache.store(topic: "t/1", payload: bytes("x"), qos: .atMostOnce)
        cache.store(topic: "t/2", payload: bytes("x"), qos: .atMostOnce)
        cache.store(topic: "t/1", payload: bytes("y"), qos: .atMostOnce)  // t/1 is now the newest
        let evicted = cache.store(topic: "t/3", payload: bytes("x"), qos: .atMostOnce)
        #expect(evicted == ["t/2"])
        #expect(cache.message(for: "t/1") != nil && cache.message(for: "t/3") != nil)
        #expect(cache.evictions == 1)
    }

    @Test func staysWithinItsByteBoundAndRefusesAMessageLargerThanIt() {
        var cache = RetainedCache(maximumMessages: 100, maximumBytes: 10)
        cache.store(topic: "a", payload: bytes("1234"), qos: .atMostOnce)  // 5 bytes
        cache.store(topic: "b", payload: bytes("1234"), qos: .atMostOnce)  // 10 bytes
        let result101 = cache.store(topic: "c", payload: bytes("1"), qos: .atMostOnce)
        #expect(result101 == ["a"])
        #expect(cache.totalBytes <= 10)
        let result102 = cache.store(topic: "big", payload: bytes("0123456789"), qos: .atMostOnce)
        #expect(result102 == ["big"])
        #expect(cache.message(for: "big") == nil)
        #expect(cache.totalBytes <= 10)
    }

    @Test func storingTheSameTopicOverAndOverKeepsOneEntry() {
        var cache = RetainedCache(maximumMessages: 3, maximumBytes: 1 << 20)
        for value in 0..<10_000 { cache.store(topic: "same", payload: bytes("\(value)"), qos: .atMostOnce) }
        #expect(cache.count == 1)
        #expect(cache.evictions == 0)
        #expect(cache.message(for: "same")?.payload == bytes("9999"))
    }
}

@Suite struct RetainedReplaysTests {
    private let filter = try! TopicFilter("a/#")

    @Test func aReplayIsForTheClientsThatSubscribedAndEachTopicOnce() {
        var replays = RetainedReplays()
        replays.subscribing(filter, for: [1])
        let result103 = replays.takeRecipients(ofRetained: "a/x")
        #expect(result103.isEmpty, "nothing is replayed before SUBACK")
        let result104 = replays.acknowledged(filter)
        #expect(result104)
        let result105 = replays.takeRecipients(ofRetained: "a/x")
        #expect(result105 == [1])
        let result106 = replays.takeRecipients(ofRetained: "a/x")
        #expect(result106.isEmpty, "an overlapping replay brings it again")
        let result107 = replays.takeRecipients(ofRetained: "b/x")
        #expect(result107.isEmpty)
        replays.finishReplay(filter)
        let result108 = replays.takeRecipients(ofRetained: "a/y")
        #expect(result108.isEmpty)
    }

    @Test func theNextAcknowledgementOfAFilterEndsTheReplayBeforeIt() {
        var replays = RetainedReplays()
        replays.subscribing(filter, for: [1])
        replays.subscribing(filter, for: [2])
        let result109 = replays.acknowledged(filter)
        #expect(result109)
        let result110 = replays.takeRecipients(ofRetained: "a/x")
        #expect(result110 == [1])
        let result111 = replays.acknowledged(filter)
        #expect(result111)
        let result112 = replays.takeRecipients(ofRetained: "a/x")
        #expect(result112 == [2])
        let result113 = replays.acknowledged(filter)
        #expect(!result113, "a SUBACK nobody waits for (a resubscription) starts no replay")
        let result114 = replays.takeRecipients(ofRetained: "a/z")
        #expect(result114.isEmpty)
    }

    @Test func clientsWaitingWhileTheLinkIsDownShareTheNextSubscribe() {
        var replays = RetainedReplays()
        replays.join(filter, client: 1)
        replays.join(filter, client: 2)
        replays.subscribing(filter, for: [3])
        replays.resubscribingAll()
        let result115 = replays.acknowledged(filter)
        #expect(result115)
        let result116 = replays.takeRecipients(ofRetained: "a/x")
        #expect(result116 == [1, 2, 3])
    }

    @Test func aClientThatLeftIsNoRecipient() {
        var replays = RetainedReplays()
        replays.subscribing(filter, for: [1, 2])
        replays.removeClient(1)
        let result117 = replays.acknowledged(filter)
        #expect(result117)
        let result118 = replays.takeRecipients(ofRetained: "a/x")
        #expect(result118 == [2])
        replays.forget(filter)
        let result119 = replays.takeRecipients(ofRetained: "a/y")
        #expect(result119.isEmpty)
    }
}

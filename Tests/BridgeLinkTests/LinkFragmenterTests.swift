import NIOCore
import Testing

@testable import BridgeLink

@Suite("LinkFragmenter (§8.6, host to ESP)")
struct LinkFragmenterTests {
    static func bytes(_ count: Int) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) })
    }

    /// The body each frame will have on the line once a session adds `seq`, `ack` and `credit`.
    static func sequencedBody(_ frame: LinkFrame) -> Int {
        var frame = frame
        frame.seq = 0
        frame.ack = .init(ack: 0, credit: 4)
        return frame.bodySize
    }

    /// Joins the fragments as the ESP does: the first one's fields, then every payload.
    static func join(_ frames: [LinkFrame]) throws -> (LinkPublish, ByteBuffer) {
        guard case .publish(let first) = try LinkMessage(frame: frames[0]) else {
            throw LinkMessageError.unknownType(frames[0].type.rawValue)
        }
        var joined = first.payload
        for var frame in frames.dropFirst() {
            #expect(frame.type == .publish)
            joined.writeBuffer(&frame.payload)
        }
        return (first, joined)
    }

    @Test("a publish that fits goes whole, in one frame without MORE or LENGTH")
    func fitsInOneFrame() throws {
        let publish = LinkPublish(qos: .atLeastOnce, messageID: 3, topic: "a/b", payload: Self.bytes(100))
        let frames = try LinkFragmenter.frames(for: publish, maximumBody: 512)
        #expect(frames.count == 1)
        #expect(!frames[0].more)
        #expect(try LinkMessage(frame: frames[0]) == .publish(publish))
    }

    @Test("the largest publish that fits a sequenced frame goes whole; one byte more is fragmented")
    func boundary() throws {
        // header 5, flags 1, message id 2, topic 2 + 3, CRC 4: 17 bytes besides the payload.
        let largest = LinkPublish(qos: .atMostOnce, messageID: 0, topic: "a/b", payload: Self.bytes(512 - 17))
        #expect(largest.sequencedBodySize == 512)
        let whole = try LinkFragmenter.frames(for: largest, maximumBody: 512)
        #expect(whole.count == 1 && Self.sequencedBody(whole[0]) == 512)

        var over = largest
        over.payload = Self.bytes(512 - 16)
        let split = try LinkFragmenter.frames(for: over, maximumBody: 512)
        #expect(split.count == 2)
        #expect(split.allSatisfy { Self.sequencedBody($0) <= 512 })
        let (first, joined) = try Self.join(split)
        #expect(first.totalLength == 496)
        #expect(joined == over.payload)
    }

    @Test(
        "large payloads split into frames no larger than max_body that join back byte for byte",
        arguments: [4096, 100 * 1024])
    func splitsAndJoins(size: Int) throws {
        let publish = LinkPublish(
            qos: .atLeastOnce, retain: true, messageID: 0xBEEF, topic: "sensors/camera/jpeg", payload: Self.bytes(size))
        let frames = try LinkFragmenter.frames(for: publish, maximumBody: 512)
        #expect(frames.allSatisfy { Self.sequencedBody($0) <= 512 })
        // Every frame but the last is full: no space is wasted.
        #expect(frames.dropLast().allSatisfy { Self.sequencedBody($0) == 512 })
        #expect(frames.dropLast().allSatisfy { $0.more })
        #expect(frames.last?.more == false)
        let (first, joined) = try Self.join(frames)
        #expect(first.qos == .atLeastOnce && first.retain && first.messageID == 0xBEEF)
        #expect(first.topic == "sensors/camera/jpeg")
        #expect(first.totalLength == UInt32(size))
        #expect(joined == publish.payload)
    }

    @Test("a topic id goes in the first fragment, with total_length after it")
    func topicIDInFirstFragment() throws {
        var publish = LinkPublish(qos: .atMostOnce, messageID: 0, topic: "t/long/topic", payload: Self.bytes(2000))
        publish.topicID = 5
        let frames = try LinkFragmenter.frames(for: publish, maximumBody: 512)
        // flags (qos 0, TOPIC_ID, LENGTH), message id 0, topic id 5, total_length 2000.
        #expect(Array(frames[0].payload.readableBytesView.prefix(9)) == [0x18, 0, 0, 0, 5, 0, 0, 0x07, 0xD0])
        let (first, joined) = try Self.join(frames)
        #expect(first.topicID == 5 && first.topic.isEmpty)
        #expect(joined == publish.payload)
    }

    @Test("a topic that leaves no room in a first fragment is refused, not truncated")
    func topicTooLong() throws {
        let longest = LinkFragmenter.maximumTopicLength(maximumBody: 512)
        #expect(longest == 512 - 5 - 9 - 4)
        let fits = LinkPublish(
            qos: .atMostOnce, messageID: 0, topic: String(repeating: "t", count: longest), payload: Self.bytes(600))
        let frames = try LinkFragmenter.frames(for: fits, maximumBody: 512)
        #expect(frames.allSatisfy { Self.sequencedBody($0) <= 512 })
        #expect(try Self.join(frames).1 == fits.payload)

        var tooLong = fits
        tooLong.topic += "t"
        #expect(throws: LinkFragmenter.Refusal.topicTooLong(topicLength: longest + 1, maximumBody: 512)) {
            try LinkFragmenter.frames(for: tooLong, maximumBody: 512)
        }
    }
}

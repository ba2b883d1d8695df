import NIOCore
import Testing

@testable import BridgeLink

@Suite("MessageReassembler (§8.6, ESP to host)")
struct MessageReassemblerTests {
    static func bytes(_ count: Int, seed: UInt8 = 1) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ seed })
    }

    /// MESSAGE frames as the firmware sends them: a first fragment with LENGTH and the topic,
    /// then frames of raw payload, `chunk` bytes each.
    static func fragments(
        topic: String = "cam/jpeg", payload: ByteBuffer, totalLength: Int? = nil, chunk: Int = 500
    ) throws -> [LinkFrame] {
        var rest = payload
        let first = LinkIncoming(
            qos: .atLeastOnce, topic: topic, totalLength: UInt32(totalLength ?? payload.readableBytes),
            payload: rest.readSlice(length: min(chunk, rest.readableBytes))!)
        var frames = [try LinkMessage.incoming(first).makeFrame()]
        while rest.readableBytes > 0 {
            frames.append(LinkFrame(type: .message, payload: rest.readSlice(length: min(chunk, rest.readableBytes))!))
        }
        for index in frames.indices.dropLast() { frames[index].more = true }
        return frames
    }

    static func feed(_ reassembler: inout MessageReassembler, _ frames: [LinkFrame]) throws -> [MessageReassembler.Step]
    {
        try frames.map { try reassembler.receive($0) }
    }

    @Test("a message in one frame is complete at once")
    func wholeMessage() throws {
        var reassembler = MessageReassembler(maximumMessageSize: 1000)
        let message = LinkIncoming(qos: .atMostOnce, retain: true, topic: "a/b", payload: ByteBuffer(string: "hi"))
        #expect(try reassembler.receive(try LinkMessage.incoming(message).makeFrame()) == .complete(message))
        #expect(!reassembler.isInsideMessage)
    }

    @Test("fragments join byte for byte", arguments: [4096, 100 * 1024])
    func joins(size: Int) throws {
        var reassembler = MessageReassembler(maximumMessageSize: 256 * 1024)
        let payload = Self.bytes(size)
        let steps = try Self.feed(&reassembler, try Self.fragments(payload: payload))
        #expect(steps.dropLast().allSatisfy { $0 == .incomplete })
        #expect(steps.last == .complete(LinkIncoming(qos: .atLeastOnce, topic: "cam/jpeg", payload: payload)))
        #expect(!reassembler.isInsideMessage)
    }

    @Test("a message over the limit is refused at its first fragment and the rest skipped; the next one passes")
    func overTheLimit() throws {
        var reassembler = MessageReassembler(maximumMessageSize: 4096)
        let steps = try Self.feed(&reassembler, try Self.fragments(payload: Self.bytes(4097)))
        guard case .refused(let reason) = steps.first else {
            Issue.record("expected a refusal, got \(steps)")
            return
        }
        #expect(reason.contains("4097-byte message on 'cam/jpeg'") && reason.contains("4096 bytes"))
        #expect(steps.dropFirst().allSatisfy { $0 == .skipped })
        let next = try Self.feed(&reassembler, try Self.fragments(payload: Self.bytes(4096, seed: 9)))
        #expect(
            next.last
                == .complete(LinkIncoming(qos: .atLeastOnce, topic: "cam/jpeg", payload: Self.bytes(4096, seed: 9))))
    }

    @Test("fragments that add up to less than total_length (a lost or empty last one) deliver nothing")
    func cutShort() throws {
        var reassembler = MessageReassembler(maximumMessageSize: 10_000)
        var frames = try Self.fragments(payload: Self.bytes(3000))
        // The firmware ends a message cut short with an empty last fragment.
        frames[3] = LinkFrame(type: .message, payload: ByteBuffer())
        frames.removeLast(frames.count - 4)
        let steps = try Self.feed(&reassembler, frames)
        #expect(steps.prefix(3).allSatisfy { $0 == .incomplete })
        guard case .refused(let reason) = steps.last else {
            Issue.record("expected a refusal, got \(steps)")
            return
        }
        #expect(reason.contains("ended after 1500 bytes"))
        #expect(!reassembler.isInsideMessage)
    }

    @Test("a fragment twice (or out of order) makes more than total_length: refused, the rest skipped")
    func tooManyBytes() throws {
        var reassembler = MessageReassembler(maximumMessageSize: 10_000)
        var frames = try Self.fragments(payload: Self.bytes(3000))
        frames.insert(frames[2], at: 3)
        let steps = try Self.feed(&reassembler, frames)
        #expect(steps.contains { if case .refused = $0 { return true } else { return false } })
        #expect(!steps.contains { if case .complete = $0 { return true } else { return false } })
        #expect(!reassembler.isInsideMessage)
    }

    @Test("another frame in the middle ends the message: interrupt() says so once")
    func interrupted() throws {
        var reassembler = MessageReassembler(maximumMessageSize: 10_000)
        let frames = try Self.fragments(payload: Self.bytes(3000))
        _ = try Self.feed(&reassembler, Array(frames.prefix(2)))
        #expect(reassembler.interrupt()?.contains("3000-byte message on 'cam/jpeg' was cut off") == true)
        #expect(reassembler.interrupt() == nil)
        #expect(!reassembler.isInsideMessage)
    }

    @Test("MORE without LENGTH, and LENGTH that disagrees with a lone frame, are refused")
    func inconsistentHeaders() throws {
        var reassembler = MessageReassembler(maximumMessageSize: 10_000)
        var noLength = try LinkMessage.incoming(LinkIncoming(qos: .atMostOnce, topic: "t", payload: Self.bytes(10)))
            .makeFrame()
        noLength.more = true
        guard case .refused = try reassembler.receive(noLength) else {
            Issue.record("MORE without LENGTH was taken")
            return
        }
        #expect(try reassembler.receive(LinkFrame(type: .message, payload: Self.bytes(5))) == .skipped)

        let lone = try LinkMessage.incoming(
            LinkIncoming(qos: .atMostOnce, topic: "t", totalLength: 11, payload: Self.bytes(10))
        ).makeFrame()
        guard case .refused = try reassembler.receive(lone) else {
            Issue.record("a lone frame short of its total_length was taken")
            return
        }
        let exact = LinkIncoming(qos: .atMostOnce, topic: "t", totalLength: 10, payload: Self.bytes(10))
        var expected = exact
        expected.totalLength = nil
        #expect(try reassembler.receive(try LinkMessage.incoming(exact).makeFrame()) == .complete(expected))
    }

    @Test("a garbled first fragment throws malformed, and its other fragments are skipped")
    func garbageFirstFragment() throws {
        var reassembler = MessageReassembler(maximumMessageSize: 10_000)
        let garbage = LinkFrame(type: .message, more: true, payload: ByteBuffer(bytes: [0x13, 0x00]))
        #expect(throws: LinkMessageError.self) { try reassembler.receive(garbage) }
        let rest = [
            LinkFrame(type: .message, more: true, payload: Self.bytes(500)),
            LinkFrame(type: .message, payload: Self.bytes(20)),
        ]
        #expect(try Self.feed(&reassembler, rest) == [.skipped, .skipped])
        #expect(!reassembler.isInsideMessage)
    }

    @Test("reset() forgets a message half joined")
    func resetForgets() throws {
        var reassembler = MessageReassembler(maximumMessageSize: 10_000)
        _ = try Self.feed(&reassembler, Array(try Self.fragments(payload: Self.bytes(3000)).prefix(2)))
        reassembler.reset()
        #expect(!reassembler.isInsideMessage)
        #expect(reassembler.interrupt() == nil)
    }
}

import BridgeLink
import NIOCore
import Testing

/// A clock the test moves by hand. Only the test's own task touches it, one step at a time, which is
/// why the unchecked conformance is sound here.
final class ManualClock: @unchecked Sendable {
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func advance(by amount: TimeAmount) {
        self.now = self.now + amount
    }
}

@Suite("LinkFrameEncoder")
struct LinkFrameEncoderTests {
    static let frame = LinkFrame(type: .ping, payload: ByteBuffer(bytes: [0x01, 0x00]))

    static func write(_ encoder: LinkFrameEncoder) -> [UInt8] {
        var out = ByteBuffer()
        encoder.encode(data: Self.frame, out: &out)
        return out.bytes
    }

    @Test("a leading delimiter for the first frame and after 20 ms of silence, none back to back")
    func leadingDelimiterRule() {
        let clock = ManualClock()
        let encoder = LinkFrameEncoder(now: { clock.now })
        let plain = wire(Self.frame)
        let withDelimiter = [0x00] + plain

        #expect(Self.write(encoder) == withDelimiter, "first frame")
        clock.advance(by: .milliseconds(5))
        #expect(Self.write(encoder) == plain, "5 ms later")
        clock.advance(by: .microseconds(19_999))
        #expect(Self.write(encoder) == plain, "19.999 ms later")
        clock.advance(by: .milliseconds(20))
        #expect(Self.write(encoder) == withDelimiter, "exactly 20 ms later")
        clock.advance(by: .milliseconds(1))
        #expect(Self.write(encoder) == plain, "1 ms later")
        clock.advance(by: .hours(1))
        #expect(Self.write(encoder) == withDelimiter, "an hour later")
    }

    @Test("the idle interval can be changed")
    func customInterval() {
        let clock = ManualClock()
        let encoder = LinkFrameEncoder(idleInterval: .milliseconds(100), now: { clock.now })
        #expect(Self.write(encoder).first == 0x00)
        clock.advance(by: .milliseconds(50))
        #expect(Self.write(encoder).first != 0x00)
        clock.advance(by: .milliseconds(100))
        #expect(Self.write(encoder).first == 0x00)
    }

    @Test("appends to what the output buffer already holds")
    func appends() {
        let encoder = LinkFrameEncoder()
        var out = ByteBuffer(bytes: [0xEE])
        encoder.encode(data: Self.frame, out: &out)
        #expect(out.bytes == [0xEE, 0x00] + wire(Self.frame))
    }
}

import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the bit errors of one direction fall: each data bit is flipped with probability `rate`,
/// independently of the others.
///
/// Rather than a random number per bit (8 per byte, most of them wasted at a rate of 1e-4), it
/// draws the gap to the next flipped bit from the geometric distribution, ⌊ln U / ln(1 − p)⌋ for
/// U uniform in (0, 1], which has exactly the distribution of the run of unflipped bits. The gap
/// carries over from one chunk to the next, so the flipped positions depend only on the seed and
/// the position in the byte stream, not on how the stream was chunked: a run can be replayed.
///
/// Only the 8 data bits of each byte are modelled; a flipped start or stop bit (a framing error
/// on real hardware) is not.
public struct BitErrorModel: Sendable {
    /// The probability that a bit is flipped, 0…1.
    public private(set) var rate: Double
    /// Bits flipped so far.
    public private(set) var flippedBits: UInt64 = 0
    private var random: SeededRandom
    /// Unflipped bits still to come before the next flipped one.
    private var gap: UInt64 = 0

    /// A model flipping bits at `rate` with the sequence of `random`.
    public init(rate: Double, random: SeededRandom) {
        self.rate = Self.clamped(rate)
        self.random = random
        gap = drawGap()
    }

    /// Changes the rate from the next bit on.
    public mutating func setRate(_ newRate: Double) {
        rate = Self.clamped(newRate)
        gap = drawGap()
    }

    /// Flips bits of `bytes` in place; returns how many.
    @discardableResult
    public mutating func apply(to bytes: inout [UInt8]) -> Int {
        guard rate > 0, !bytes.isEmpty else { return 0 }
        let bits = UInt64(bytes.count) * 8
        var position = gap
        var flipped = 0
        while position < bits {
            bytes[Int(position / 8)] ^= UInt8(1) << UInt8(position % 8)
            flipped += 1
            // Cannot overflow: position < bits and a gap is at most 2^62 while the rate is positive.
            position += drawGap() + 1
        }
        gap = position - bits
        flippedBits += UInt64(flipped)
        return flipped
    }

    /// The number of unflipped bits before the next flipped one.
    private mutating func drawGap() -> UInt64 {
        if rate <= 0 { return UInt64.max }
        if rate >= 1 { return 0 }
        let gap = log(random.nextOpenUnitInterval()) / log1p(-rate)
        // Beyond 2^62 bits (decades of line time at any rate) is as good as never.
        return gap < 0x1p62 ? UInt64(gap) : UInt64(1) << 62
    }

    private static func clamped(_ rate: Double) -> Double {
        rate.isFinite ? min(max(rate, 0), 1) : 0
    }
}

/// A `WireStage` that flips bits of what crosses the wire at a given bit error rate: a noisy line.
/// One per direction, each with its own random sequence, so both directions are independent.
public final class BitErrorInjector: WireStage {
    private let model: NIOLockedValueBox<BitErrorModel>

    /// An injector flipping bits at `rate` with the sequence of `random`.
    public init(rate: Double, random: SeededRandom) {
        model = NIOLockedValueBox(BitErrorModel(rate: rate, random: random))
    }

    /// The bit error rate in use.
    public var rate: Double {
        get { model.withLockedValue { $0.rate } }
        set { model.withLockedValue { $0.setRate(newValue) } }
    }

    /// Bits flipped so far.
    public var flippedBits: UInt64 { model.withLockedValue { $0.flippedBits } }

    public func process(_ chunk: inout [UInt8], direction: WireDirection) {
        _ = model.withLockedValue { $0.apply(to: &chunk) }
    }
}

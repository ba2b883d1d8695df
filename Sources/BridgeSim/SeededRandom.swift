/// A small, fast pseudo-random generator whose sequence depends only on its seed: xoshiro256**
/// (Blackman and Vigna), seeded through SplitMix64.
///
/// The wire's faults draw from it so that a failing run can be replayed with `--seed`: the
/// system generator would give a different line every time. It is not cryptographic, and does
/// not need to be.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator for `seed`; `stream` picks one of many independent sequences of the same seed,
    /// so that each fault and direction gets its own and drawing from one never shifts another.
    public init(seed: UInt64, stream: UInt64 = 0) {
        // SplitMix64 spreads any seed, even 0, over the whole state; xoshiro must not start at 0.
        var mix = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
        func splitMix() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    /// A uniform value in (0, 1]: never 0, so that its logarithm is finite.
    mutating func nextOpenUnitInterval() -> Double {
        Double((next() >> 11) + 1) * 0x1p-53
    }

    private func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}

/// Bytes as a receiver sees them when the line carries no valid characters: line noise, a cut
/// cable's glitches, a UART clocked at the wrong rate.
public enum LineNoise {
    /// One noise byte. Zeros are common (a line held low reads as `0x00` with a framing error, and
    /// `0x00` is the link's frame delimiter, which is what makes noise interesting), so are
    /// `0xFF` (a line held high), the rest is uniform.
    public static func byte<R: RandomNumberGenerator>(using random: inout R) -> UInt8 {
        switch random.next() & 15 {
        case 0, 1: return 0x00
        case 2: return 0xFF
        default: return UInt8(truncatingIfNeeded: random.next())
        }
    }

    /// `count` noise bytes.
    public static func bytes<R: RandomNumberGenerator>(_ count: Int, using random: inout R) -> [UInt8] {
        (0..<max(0, count)).map { _ in byte(using: &random) }
    }
}

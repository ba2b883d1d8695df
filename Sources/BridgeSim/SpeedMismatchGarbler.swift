import NIOConcurrencyHelpers

/// What a UART receives when its speed differs from the sender's: garbage. Bit times do not line
/// up, so the receiver samples the wrong bits, sees start bits in the middle of data, and reads
/// breaks and framing errors (`0x00`) where the line stayed low.
///
/// The model: while the two ends' speeds differ, each byte sent becomes a noise byte
/// (`LineNoise`), and now and then none or two, so that the receiver gets roughly one byte per
/// byte sent but not exactly. Every byte sent meanwhile is counted as garbled. When the speeds
/// match, bytes pass untouched.
///
/// A *line limit* models a line that cannot carry fast rates at all (a long cable, a slow level
/// shifter or opto-coupler): bytes sent faster than the limit arrive garbled even when both ends
/// agree on the speed. The speeds come from a provider (`LineSpeeds.ends`: the speed
/// the bytes were sent at, which lags behind the sender's setting while bytes written before a
/// change are still crossing, and the receiver's setting now); without speeds (tracking off)
/// nothing is garbled.
public final class SpeedMismatchGarbler: WireStage {
    private struct State {
        var random: SeededRandom
        var garbled: [WireDirection: UInt64] = [:]
        var lineLimit: Int?
    }

    private let ends: @Sendable (WireDirection) -> (sender: Int?, receiver: Int?)?
    private let state: NIOLockedValueBox<State>

    /// A garbler going by the sender's and receiver's speeds `ends` returns for a direction,
    /// drawing noise from `random`.
    public init(
        random: SeededRandom, ends: @escaping @Sendable (WireDirection) -> (sender: Int?, receiver: Int?)?
    ) {
        self.ends = ends
        state = NIOLockedValueBox(State(random: random))
    }

    /// Whether a byte from a sender at `sender` baud reaches a receiver at `receiver` baud garbled,
    /// on a line that carries at most `lineLimit` baud (`nil`: any rate).
    public static func garbles(sender: Int?, receiver: Int?, lineLimit: Int? = nil) -> Bool {
        if sender != receiver { return true }
        guard let lineLimit, let sender else { return false }
        return sender > lineLimit
    }

    /// The fastest rate the line carries; `nil` for no limit.
    public var lineLimit: Int? {
        get { state.withLockedValue { $0.lineLimit } }
        set { state.withLockedValue { $0.lineLimit = newValue } }
    }

    /// Bytes sent `direction` that arrived garbled, so far.
    public func garbled(_ direction: WireDirection) -> UInt64 {
        state.withLockedValue { $0.garbled[direction, default: 0] }
    }

    public func process(_ chunk: inout [UInt8], direction: WireDirection) {
        guard !chunk.isEmpty, let ends = ends(direction) else { return }
        guard Self.garbles(sender: ends.sender, receiver: ends.receiver, lineLimit: lineLimit) else { return }
        let sent = chunk.count
        chunk = state.withLockedValue { state in
            state.garbled[direction, default: 0] += UInt64(sent)
            var received: [UInt8] = []
            received.reserveCapacity(sent + sent / 8)
            for _ in 0..<sent {
                // 1 in 16 sent bytes is lost in the mess, 1 in 16 reads as two.
                switch state.random.next() & 15 {
                case 0: break
                case 1:
                    received.append(LineNoise.byte(using: &state.random))
                    received.append(LineNoise.byte(using: &state.random))
                default: received.append(LineNoise.byte(using: &state.random))
                }
            }
            return received
        }
    }
}

import NIOConcurrencyHelpers

/// The line unplugged for a while: every byte that crosses the wire in either direction while the
/// cut lasts is lost, and counted.
///
/// One instance sits on both lanes. On a paced wire it comes after the pacer, so a cut of T
/// seconds loses what the senders transmitted during those T seconds, at the line rate; bytes
/// already delivered before it are unaffected, and bytes queued behind it cross once it is over.
public final class LineCut: WireStage {
    private struct State {
        var until: UInt64 = 0
        var lost: [WireDirection: UInt64] = [:]
    }

    private let clock: @Sendable () -> UInt64
    private let state = NIOLockedValueBox(State())

    /// A line that is not cut; `clock` gives monotonic nanoseconds (default: the system's).
    public init(clock: (@Sendable () -> UInt64)? = nil) {
        self.clock = clock ?? POSIX.monotonicNanoseconds
    }

    /// Cuts the line from now for `seconds`, replacing any cut in progress (so `0` ends one).
    public func cut(seconds: Double) {
        let until = clock() + Self.nanoseconds(seconds)
        state.withLockedValue { $0.until = until }
    }

    /// Nanoseconds until the line is whole again (0 when it is).
    public var remainingNanoseconds: UInt64 {
        let now = clock()
        return state.withLockedValue { $0.until > now ? $0.until - now : 0 }
    }

    /// Bytes lost to cuts so far, travelling `direction`.
    public func lost(_ direction: WireDirection) -> UInt64 {
        state.withLockedValue { $0.lost[direction, default: 0] }
    }

    public func process(_ chunk: inout [UInt8], direction: WireDirection) {
        guard !chunk.isEmpty else { return }
        let now = clock()
        let lost = state.withLockedValue { state -> Bool in
            guard now < state.until else { return false }
            state.lost[direction, default: 0] += UInt64(chunk.count)
            return true
        }
        if lost { chunk.removeAll() }
    }

    /// `seconds` (finite, not negative) in nanoseconds.
    static func nanoseconds(_ seconds: Double) -> UInt64 {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return UInt64(min(seconds, 1e9) * 1e9)
    }
}

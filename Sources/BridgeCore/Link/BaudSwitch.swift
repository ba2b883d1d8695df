import NIOCore

/// The line-rate switch of §8.8: which rate to ask for, and where a switch stands.
public enum BaudSwitch {
    /// Where the switch of one link session stands. The host tries once per session.
    public enum Phase: Equatable, Sendable {
        /// No switch asked for yet in this session.
        case notTried
        /// BAUD was queued as the session's `frame`-th sequenced frame; the host switches when the
        /// ESP acknowledges it.
        case awaitingAcknowledgement(rate: Int, frame: Int)
        /// The host switched and sent PING carrying `token`; a PONG with it within a second
        /// confirms the rate.
        case confirming(rate: Int, token: String)
        /// The host went back to the start rate (the switch failed, or the line went silent at
        /// the new rate) and waits to hear the ESP there, which returns by itself.
        case fallingBack(since: NIODeadline)
        /// Over for this session: at the new rate, or back at the start rate.
        case finished
    }

    /// How long the host waits for the PONG at the new rate.
    public static let confirmationTimeout: TimeAmount = .seconds(1)
    /// How long the ESP waits at a new rate without a good frame before it returns to the start
    /// rate by itself (§8.8). The host follows the same rule.
    public static let silenceBeforeFallback: TimeAmount = .seconds(2)
    /// How often the host sends PING at the start rate while it waits for the ESP to come back.
    public static let fallbackProbeInterval: TimeAmount = .milliseconds(500)

    /// The rate to ask for: the highest of `supportedRates` above `startRate` and at most both
    /// `hostMaximum` and the ESP's `peerMaximum`; `nil` when there is none (either side has no
    /// `max_baud`, or nothing faster fits).
    public static func targetRate(startRate: Int, hostMaximum: Int?, peerMaximum: Int, supportedRates: [Int]) -> Int? {
        guard let hostMaximum, peerMaximum > startRate else { return nil }
        let ceiling = min(hostMaximum, peerMaximum)
        return supportedRates.filter { $0 > startRate && $0 <= ceiling }.max()
    }
}

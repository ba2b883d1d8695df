import NIOCore

/// The retransmission timeout of firmware-protocol.md §8.4: RFC 6298's estimator (SRTT, RTTVAR,
/// K = 4) with the protocol's granularity and bounds, doubled on each expiry.
public struct RetransmissionTimeout: Sendable, Hashable {
    public static let granularity: TimeAmount = .milliseconds(10)
    public static let minimum: TimeAmount = .milliseconds(50)
    public static let maximum: TimeAmount = .seconds(3)
    public static let initial: TimeAmount = .seconds(1)

    private var smoothed: TimeAmount?
    private var variation: TimeAmount = .zero
    /// The current timeout.
    public private(set) var value: TimeAmount = Self.initial

    public init() {}

    /// The smoothed round-trip time, once a sample was taken.
    public var smoothedRoundTrip: TimeAmount? { smoothed }

    /// Takes a round-trip sample of a frame sent only once (Karn's rule is the caller's).
    public mutating func record(roundTrip sample: TimeAmount) {
        if let srtt = smoothed {
            let difference = TimeAmount.nanoseconds(abs(srtt.nanoseconds - sample.nanoseconds))
            variation = .nanoseconds((3 * variation.nanoseconds + difference.nanoseconds) / 4)
            smoothed = .nanoseconds((7 * srtt.nanoseconds + sample.nanoseconds) / 8)
        } else {
            smoothed = sample
            variation = .nanoseconds(sample.nanoseconds / 2)
        }
        let candidate = smoothed! + max(Self.granularity, .nanoseconds(4 * variation.nanoseconds))
        value = Self.clamp(candidate)
    }

    /// The timer expired: back off (RFC 6298 §5.5).
    public mutating func backOff() {
        value = Self.clamp(.nanoseconds(value.nanoseconds * 2))
    }

    private static func clamp(_ timeout: TimeAmount) -> TimeAmount {
        min(max(timeout, minimum), maximum)
    }
}

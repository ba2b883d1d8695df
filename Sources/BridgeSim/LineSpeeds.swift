import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The baud rates a pseudo-terminal can be set to with `cfsetospeed`, and their termios constants.
///
/// A copy of the daemon's table (BridgeSerial is not a dependency of the simulator), extended
/// downwards: a test may want a slow line.
public enum BaudRate {
    private static let table: [(rate: Int, speed: speed_t)] = {
        var rates: [(Int, speed_t)] = [
            (1200, speed_t(B1200)), (2400, speed_t(B2400)), (4800, speed_t(B4800)),
            (9600, speed_t(B9600)), (19200, speed_t(B19200)), (38400, speed_t(B38400)),
            (57600, speed_t(B57600)), (115_200, speed_t(B115200)), (230_400, speed_t(B230400)),
        ]
        #if os(Linux)
            rates += [
                (460_800, speed_t(B460800)), (500_000, speed_t(B500000)), (576_000, speed_t(B576000)),
                (921_600, speed_t(B921600)), (1_000_000, speed_t(B1000000)), (1_152_000, speed_t(B1152000)),
                (1_500_000, speed_t(B1500000)), (2_000_000, speed_t(B2000000)), (2_500_000, speed_t(B2500000)),
                (3_000_000, speed_t(B3000000)), (3_500_000, speed_t(B3500000)), (4_000_000, speed_t(B4000000)),
            ]
        #endif
        return rates
    }()

    /// Every rate accepted by `--baud` and the `baud` command, ascending.
    public static var supported: [Int] { table.map(\.rate) }

    /// The termios constant for `rate`, if it is a standard rate.
    static func constant(for rate: Int) -> speed_t? {
        table.first { $0.rate == rate }?.speed
    }

    /// The rate a termios constant stands for; `nil` for one outside the table (`B0`, or `BOTHER`
    /// set through `termios2`, which this simulator does not read).
    static func rate(for speed: speed_t) -> Int? {
        table.first { $0.speed == speed }?.rate
    }
}

/// The speeds the two ends of the wire are set to, as their programs set them (`tcsetattr` on
/// their replica), and whether the wire pays attention to them at all.
///
/// When tracking is on (esp-sim's `--baud`, or a `baud` command), each lane paces its bytes at
/// the sender's speed and garbles them when the receiver's speed differs. When it is off (the
/// default), the wire is ideal: as fast as the PTYs go, whatever speeds are set.
///
/// Reading the speeds costs two `tcgetattr` calls. Each lane reads them afresh whenever it wakes
/// (see `WireLane.followSpeeds` for why that matters); the stages it then runs reuse that reading.
public final class LineSpeeds: Sendable {
    /// The speeds of both ends at one moment; `nil` for a speed outside `BaudRate.supported`.
    public struct Snapshot: Sendable, Equatable {
        /// The host's (daemon's) replica.
        public var host: Int?
        /// The ESP's (firmware's) replica.
        public var esp: Int?

        public init(host: Int?, esp: Int?) {
            self.host = host
            self.esp = esp
        }

        /// The sending and receiving ends of `direction`.
        public func ends(_ direction: WireDirection) -> (sender: Int?, receiver: Int?) {
            switch direction {
            case .hostToESP: return (host, esp)
            case .espToHost: return (esp, host)
            }
        }
    }

    private struct Cache {
        var tracking: Bool
        var snapshot: Snapshot?
        var readAt: UInt64 = 0
        var sending: [WireDirection: Int] = [:]
    }

    private let read: @Sendable () -> Snapshot
    private let clock: @Sendable () -> UInt64
    private let cache: NIOLockedValueBox<Cache>

    /// Follows the speeds of the two PTYs.
    public convenience init(host: PseudoTerminal, esp: PseudoTerminal, tracking: Bool) {
        self.init(tracking: tracking, clock: POSIX.monotonicNanoseconds) {
            Snapshot(host: host.baud, esp: esp.baud)
        }
    }

    /// Follows speeds given by `read` (tests pass fixed ones).
    public init(
        tracking: Bool, clock: @escaping @Sendable () -> UInt64, read: @escaping @Sendable () -> Snapshot
    ) {
        self.read = read
        self.clock = clock
        cache = NIOLockedValueBox(Cache(tracking: tracking))
    }

    /// Whether the wire paces and garbles by these speeds.
    public var tracking: Bool {
        get { cache.withLockedValue { $0.tracking } }
        set { cache.withLockedValue { $0.tracking = newValue } }
    }

    /// The speeds now, read afresh (for statistics).
    public func readNow() -> Snapshot { read() }

    /// Makes the next `current()` read the speeds afresh: esp-sim changed one itself.
    public func invalidate() {
        cache.withLockedValue { $0.snapshot = nil }
    }

    /// Records the speed the bytes now crossing `direction` were sent at (`nil`: not paced).
    /// It lags behind the sender's setting while bytes written before a speed change are still
    /// on their way (see `WireLane`).
    public func noteSending(_ baud: Int?, _ direction: WireDirection) {
        cache.withLockedValue { $0.sending[direction] = baud }
    }

    /// The speed the bytes crossing `direction` were sent at and the receiver's speed now;
    /// `nil` while tracking is off.
    public func ends(_ direction: WireDirection) -> (sender: Int?, receiver: Int?)? {
        guard let snapshot = current() else { return nil }
        let ends = snapshot.ends(direction)
        let sending = cache.withLockedValue { $0.sending[direction] }
        return (sending ?? ends.sender, ends.receiver)
    }

    /// The speeds the wire goes by, read at most `maximumAge` nanoseconds ago (default: a
    /// millisecond); `nil` while tracking is off.
    public func current(maximumAge: UInt64 = 1_000_000) -> Snapshot? {
        let now = clock()
        return cache.withLockedValue { cache in
            guard cache.tracking else { return nil }
            if cache.snapshot == nil || now &- cache.readAt >= maximumAge {
                cache.snapshot = read()
                cache.readAt = now
            }
            return cache.snapshot
        }
    }
}

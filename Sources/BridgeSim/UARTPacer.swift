/// The schedule of one direction of a UART: when each byte handed to the transmitter has finished
/// crossing the line, at 10 bit-times per byte (8N1: a start bit, 8 data bits, a stop bit).
///
/// Pure: the caller passes the time, so tests drive it with a simulated clock. The wire's lane
/// asks it, whenever it wakes, how many of the bytes waiting to be sent have been "received" by
/// now, and releases exactly those, so a receiver sees bytes trickle in at the line rate however
/// large the sender's writes were.
///
/// No drift: the schedule counts bytes since a reference time (byte *n* after the reference is
/// complete at `reference + n × 10 / baud` s, rounded down to the nanosecond only for the
/// comparison), so rounding errors and the lane's wake-up latency never accumulate. The
/// reference moves only when the line has been idle (the transmitter had nothing left to send:
/// the next byte starts when it is handed over, as on a real UART) and when the speed changes.
/// Every `baud` bytes (exactly 10 s of line time) the reference advances by 10 s, which keeps the
/// arithmetic small without any rounding.
public struct UARTPacer: Sendable, Equatable {
    /// Bits on the line per byte: start, 8 data, stop.
    public static let bitsPerByte: UInt64 = 10
    private static let nanosecondsPerSecond: UInt64 = 1_000_000_000
    /// The line time of `baud` bytes, in nanoseconds: 10 s whatever the speed.
    private static let rebasePeriod = bitsPerByte * nanosecondsPerSecond

    /// The line speed in bits per second.
    public private(set) var baud: Int
    /// When byte 0 of the current schedule started.
    private var reference: UInt64 = 0
    /// Bytes of the current schedule already released.
    private var sentSinceReference: UInt64 = 0
    /// Whether everything handed over has been released: the next byte starts a new schedule.
    private var idle = true

    /// A pacer for a line at `baud` bits per second (positive).
    public init(baud: Int) {
        precondition(baud > 0, "a line speed must be positive")
        self.baud = baud
    }

    /// How long one byte occupies the line, in nanoseconds (not rounded).
    public var byteTimeNanoseconds: Double {
        Double(Self.rebasePeriod) / Double(baud)
    }

    /// Given `waiting` bytes queued for transmission (those released before excluded), how many
    /// have finished crossing the line at `now` (monotonic nanoseconds). They count as released:
    /// the caller must deliver them and remove them from its queue.
    public mutating func release(waiting: Int, now: UInt64) -> Int {
        guard waiting > 0 else {
            idle = true
            return 0
        }
        if idle {
            // The line was quiet: this byte's start bit goes out now, not back when the line
            // went quiet (which would let a burst through at once to "catch up").
            reference = now
            sentSinceReference = 0
            idle = false
        }
        let due = bytesComplete(at: now)
        let released = Int(min(UInt64(waiting), due - min(due, sentSinceReference)))
        sentSinceReference += UInt64(released)
        if released == waiting { idle = true }
        while sentSinceReference >= UInt64(baud) {
            reference += Self.rebasePeriod
            sentSinceReference -= UInt64(baud)
        }
        return released
    }

    /// When the next byte waiting (the first not yet released) will have crossed the line, in
    /// monotonic nanoseconds. Meaningful while bytes are waiting.
    public func nextCompletion() -> UInt64 {
        let baud = UInt64(baud)
        // Round up: the byte is complete at this nanosecond or before, never after.
        return reference + ((sentSinceReference + 1) * Self.rebasePeriod + baud - 1) / baud
    }

    /// Changes the speed at `now`. The schedule starts afresh at `now` at the new speed (a byte
    /// in flight is simply finished at the new rate); the bytes already released stay released.
    public mutating func setBaud(_ newBaud: Int, now: UInt64) {
        precondition(newBaud > 0, "a line speed must be positive")
        guard newBaud != baud else { return }
        baud = newBaud
        reference = now
        sentSinceReference = 0
    }

    /// Bytes of the current schedule complete at `now`: ⌊(now − reference) × baud / 10 s⌋.
    private func bytesComplete(at now: UInt64) -> UInt64 {
        guard now > reference else { return 0 }
        // Full width: hours of elapsed nanoseconds times a megabaud overflow 64 bits.
        let product = (now - reference).multipliedFullWidth(by: UInt64(baud))
        guard product.high < Self.rebasePeriod else { return UInt64.max }
        return Self.rebasePeriod.dividingFullWidth(product).quotient
    }
}

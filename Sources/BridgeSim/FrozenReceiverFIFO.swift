import NIOConcurrencyHelpers

/// The ESP8266's UART receive FIFO while the firmware is frozen (`hang`): it holds 128 bytes, and
/// what arrives once it is full is lost.
///
/// On a real chip a firmware that hangs with interrupts off stops draining the hardware FIFO, so
/// only the first 128 bytes the host sends survive; the rest overruns. (A firmware stuck with
/// interrupts on would keep filling MicroPython's larger ring buffer; the harsher case is the one
/// worth testing.) The simulator's PTY would buffer kilobytes, so this stage lets through only as
/// many bytes as the FIFO has room for, counting what it holds already (bytes the firmware had
/// not read when it froze), and drops and counts the rest. While the firmware runs, it does
/// nothing.
public final class FrozenReceiverFIFO: WireStage {
    /// The ESP8266's UART RX FIFO, in bytes.
    public static let capacity = 128

    private struct State {
        var wasFrozen = false
        /// FIFO bytes in use: what was unread at the freeze plus what was let in since.
        var used = 0
        var dropped: UInt64 = 0
    }

    private let isFrozen: @Sendable () -> Bool
    private let unread: @Sendable () -> Int
    private let state = NIOLockedValueBox(State())

    /// A FIFO in front of a receiver that is frozen while `isFrozen()` and has `unread()` bytes
    /// waiting in its buffer.
    public init(isFrozen: @escaping @Sendable () -> Bool, unread: @escaping @Sendable () -> Int) {
        self.isFrozen = isFrozen
        self.unread = unread
    }

    /// Bytes lost to a full FIFO so far.
    public var dropped: UInt64 { state.withLockedValue { $0.dropped } }

    public func process(_ chunk: inout [UInt8], direction: WireDirection) {
        let frozen = isFrozen()
        let keep: Int = state.withLockedValue { state in
            guard frozen else {
                state.wasFrozen = false
                return chunk.count
            }
            if !state.wasFrozen {
                // The firmware reads nothing while frozen, so what is unread now stays; from here
                // on only what this stage lets in adds to it (the lane may not have written the
                // previous chunk yet, so asking the PTY each time would undercount).
                state.wasFrozen = true
                state.used = unread()
            }
            let keep = min(chunk.count, max(0, Self.capacity - state.used))
            state.used += keep
            state.dropped += UInt64(chunk.count - keep)
            return keep
        }
        if keep < chunk.count { chunk.removeLast(chunk.count - keep) }
    }
}

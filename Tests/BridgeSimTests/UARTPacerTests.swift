import Testing

@testable import BridgeSim

@Suite struct UARTPacerTests {
    /// Any start time: the pacer must not care where the monotonic clock is.
    private let start: UInt64 = 5_000_000_123

    /// The bytes a perfect UART has finished sending `elapsed` nanoseconds after it started
    /// with a full queue: ⌊elapsed × baud / 10 s⌋.
    private func ideal(_ elapsed: UInt64, baud: Int) -> UInt64 {
        elapsed * UInt64(baud) / 10_000_000_000
    }

    /// Drives a pacer with an endless queue, waking every `step` nanoseconds for `duration`, and
    /// checks after every wake that exactly the ideal number of bytes has been released.
    private func checkSchedule(baud: Int, step: UInt64, duration: UInt64) {
        var pacer = UARTPacer(baud: baud)
        #expect(pacer.release(waiting: Int.max / 2, now: start) == 0)
        var released: UInt64 = 0
        var elapsed: UInt64 = 0
        var worst: Int64 = 0
        while elapsed < duration {
            elapsed += step
            released += UInt64(pacer.release(waiting: Int.max / 2, now: start + elapsed))
            worst = max(worst, abs(Int64(released) - Int64(ideal(elapsed, baud: baud))))
        }
        #expect(worst == 0, "released bytes strayed from the ideal schedule by \(worst)")
        #expect(released == ideal(duration, baud: baud))
    }

    @Test func releasesBytesAt115200() {
        // 11520 bytes a second, 11.52 a millisecond.
        var pacer = UARTPacer(baud: 115_200)
        #expect(pacer.release(waiting: 100_000, now: start) == 0)
        #expect(pacer.release(waiting: 100_000, now: start + 1_000_000) == 11)
        #expect(pacer.release(waiting: 100_000 - 11, now: start + 2_000_000) == 12)
        #expect(pacer.release(waiting: 100_000 - 23, now: start + 1_000_000_000) == 11_520 - 23)
        checkSchedule(baud: 115_200, step: 1_000_000, duration: 10_000_000_000)
    }

    @Test func releasesBytesAt921600WithSubMillisecondSteps() {
        // 10.85 µs a byte: a 250 µs wake-up releases 23 or 24 bytes.
        var pacer = UARTPacer(baud: 921_600)
        #expect(pacer.release(waiting: 1000, now: start) == 0)
        #expect(pacer.release(waiting: 1000, now: start + 250_000) == 23)
        #expect(pacer.release(waiting: 977, now: start + 500_000) == 23)
        #expect(pacer.release(waiting: 954, now: start + 750_000) == 23)
        #expect(pacer.release(waiting: 931, now: start + 1_000_000) == 23)
        checkSchedule(baud: 921_600, step: 250_000, duration: 10_000_000_000)
    }

    @Test(arguments: [9600, 115_200, 921_600, 3_000_000])
    func doesNotDriftOverTenSecondsOfIrregularWakeUps(baud: Int) {
        // Wake-ups at random moments between 1 µs and 3 ms, as a loaded machine would give.
        var random = SeededRandom(seed: 42)
        var pacer = UARTPacer(baud: baud)
        #expect(pacer.release(waiting: Int.max / 2, now: start) == 0)
        var released: UInt64 = 0
        var elapsed: UInt64 = 0
        let tenSeconds: UInt64 = 10_000_000_000
        while elapsed < tenSeconds {
            elapsed = min(tenSeconds, elapsed + UInt64.random(in: 1_000...3_000_000, using: &random))
            released += UInt64(pacer.release(waiting: Int.max / 2, now: start + elapsed))
            #expect(released == ideal(elapsed, baud: baud))
        }
        // 10 s of line time is exactly `baud` bytes (10 bits each).
        #expect(released == UInt64(baud))
        // And it keeps going past the 10 s rebase without a hiccup.
        released += UInt64(pacer.release(waiting: Int.max / 2, now: start + 25_000_000_000))
        #expect(released == ideal(25_000_000_000, baud: baud))
    }

    @Test func nextCompletionIsTheNextByteBoundaryRoundedUp() {
        var pacer = UARTPacer(baud: 115_200)
        #expect(pacer.release(waiting: 3, now: start) == 0)
        // 86 805.55… ns a byte.
        #expect(pacer.nextCompletion() == start + 86_806)
        #expect(pacer.release(waiting: 3, now: start + 86_805) == 0)
        #expect(pacer.release(waiting: 3, now: start + 86_806) == 1)
        #expect(pacer.nextCompletion() == start + 173_612)
        #expect(pacer.release(waiting: 2, now: start + 1_000_000) == 2)
    }

    @Test func anIdleLineStartsAfreshWhenBytesArrive() {
        var pacer = UARTPacer(baud: 115_200)
        #expect(pacer.release(waiting: 10, now: start) == 0)
        #expect(pacer.release(waiting: 10, now: start + 1_000_000) == 10)
        // A second of silence must not be banked: new bytes take their own line time.
        let later = start + 2_000_000_000
        #expect(pacer.release(waiting: 10, now: later) == 0)
        #expect(pacer.release(waiting: 10, now: later + 86_805) == 0)
        #expect(pacer.release(waiting: 10, now: later + 86_806) == 1)
    }

    @Test func aQueueThatKeepsBeingRefilledIsSentBackToBack() {
        // The sender adds 5 bytes every 0.2 ms (faster than the line), so the queue never
        // empties and the schedule never restarts: after 1 s exactly 11520 bytes have gone.
        var pacer = UARTPacer(baud: 115_200)
        var queue = 0
        var released = 0
        var now = start
        for _ in 0..<5000 {
            queue += 5
            let count = pacer.release(waiting: queue, now: now)
            queue -= count
            released += count
            now += 200_000
        }
        released += pacer.release(waiting: queue, now: start + 1_000_000_000)
        #expect(released == 11_520)
    }

    @Test func aSpeedChangeRestartsTheScheduleAtTheNewRate() {
        var pacer = UARTPacer(baud: 115_200)
        #expect(pacer.release(waiting: 100_000, now: start) == 0)
        #expect(pacer.release(waiting: 100_000, now: start + 10_000_000) == 115)
        pacer.setBaud(921_600, now: start + 10_000_000)
        #expect(pacer.baud == 921_600)
        #expect(pacer.release(waiting: 100_000, now: start + 20_000_000) == 921)
    }

    @Test func byteTime() {
        #expect(abs(UARTPacer(baud: 921_600).byteTimeNanoseconds - 10_850.694) < 0.001)
        #expect(abs(UARTPacer(baud: 115_200).byteTimeNanoseconds - 86_805.555) < 0.001)
    }
}

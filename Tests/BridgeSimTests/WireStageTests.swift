import Testing

@testable import BridgeSim

/// A clock the test moves by hand. Tests drive it from one thread only.
private final class ManualClock: @unchecked Sendable {
    var now: UInt64 = 1_000_000_000
    var read: @Sendable () -> UInt64 { { [self] in now } }
}

/// A value the test sets and a stage reads. Tests drive it from one thread only.
private final class Setting<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

@Suite struct SpeedMismatchGarblerTests {
    @Test(arguments: [
        (115_200, 115_200, false), (921_600, 921_600, false), (115_200, 921_600, true), (921_600, 115_200, true),
        (9600, 115_200, true),
    ])
    func garblesIffTheSpeedsDiffer(sender: Int, receiver: Int, garbles: Bool) {
        #expect(SpeedMismatchGarbler.garbles(sender: sender, receiver: receiver) == garbles)
        let garbler = SpeedMismatchGarbler(random: SeededRandom(seed: 1)) {
            LineSpeeds.Snapshot(host: sender, esp: receiver).ends($0)
        }
        let sent = [UInt8](repeating: 0x55, count: 4000)
        var chunk = sent
        garbler.process(&chunk, direction: .hostToESP)
        if garbles {
            #expect(chunk != sent)
            // Roughly one byte received per byte sent, some of them zeros.
            #expect(chunk.count > 3400 && chunk.count < 4600)
            #expect(chunk.filter { $0 == 0 }.count > 200)
            #expect(garbler.garbled(.hostToESP) == 4000)
        } else {
            #expect(chunk == sent)
            #expect(garbler.garbled(.hostToESP) == 0)
        }
        #expect(garbler.garbled(.espToHost) == 0)
    }

    @Test func eachDirectionComparesItsOwnSenderAndReceiver() {
        // Only the ESP changed speed: both directions are garbled, counted apart.
        let garbler = SpeedMismatchGarbler(random: SeededRandom(seed: 2)) {
            LineSpeeds.Snapshot(host: 115_200, esp: 921_600).ends($0)
        }
        var toESP = [UInt8](repeating: 1, count: 10)
        var toHost = [UInt8](repeating: 1, count: 20)
        garbler.process(&toESP, direction: .hostToESP)
        garbler.process(&toHost, direction: .espToHost)
        #expect(garbler.garbled(.hostToESP) == 10)
        #expect(garbler.garbled(.espToHost) == 20)
    }

    @Test func followsTheSpeedsAsTheyChange() {
        let speeds = Setting(LineSpeeds.Snapshot(host: 115_200, esp: 115_200))
        let garbler = SpeedMismatchGarbler(random: SeededRandom(seed: 3)) { speeds.value.ends($0) }
        let sent = Array("HELLO".utf8)
        var chunk = sent
        garbler.process(&chunk, direction: .espToHost)
        #expect(chunk == sent)
        speeds.value.host = 921_600  // the daemon switched, the ESP did not (yet)
        garbler.process(&chunk, direction: .espToHost)
        #expect(chunk != sent)
        speeds.value.esp = 921_600  // now both did
        chunk = sent
        garbler.process(&chunk, direction: .espToHost)
        #expect(chunk == sent)
    }

    @Test func aLineLimitGarblesFasterRatesEvenWhenBothEndsAgree() {
        #expect(!SpeedMismatchGarbler.garbles(sender: 460_800, receiver: 460_800, lineLimit: 460_800))
        #expect(SpeedMismatchGarbler.garbles(sender: 921_600, receiver: 921_600, lineLimit: 460_800))
        #expect(SpeedMismatchGarbler.garbles(sender: 115_200, receiver: 921_600, lineLimit: 460_800))
        let speeds = Setting(LineSpeeds.Snapshot(host: 921_600, esp: 921_600))
        let garbler = SpeedMismatchGarbler(random: SeededRandom(seed: 5)) { speeds.value.ends($0) }
        let sent = [UInt8](repeating: 0x55, count: 1000)
        var chunk = sent
        garbler.process(&chunk, direction: .hostToESP)
        #expect(chunk == sent)
        garbler.lineLimit = 460_800
        garbler.process(&chunk, direction: .hostToESP)
        #expect(chunk != sent)
        #expect(garbler.garbled(.hostToESP) == 1000)
        speeds.value = LineSpeeds.Snapshot(host: 115_200, esp: 115_200)  // both fell back
        chunk = sent
        garbler.process(&chunk, direction: .espToHost)
        #expect(chunk == sent)
        garbler.lineLimit = nil
        speeds.value = LineSpeeds.Snapshot(host: 921_600, esp: 921_600)
        garbler.process(&chunk, direction: .espToHost)
        #expect(chunk == sent)
    }

    @Test func doesNothingWithoutSpeedsToGoBy() {
        let garbler = SpeedMismatchGarbler(random: SeededRandom(seed: 4)) { _ in nil }
        var chunk: [UInt8] = [1, 2, 3]
        garbler.process(&chunk, direction: .hostToESP)
        #expect(chunk == [1, 2, 3])
    }

    @Test func lineSpeedsReportNothingWhileNotTrackingAndCacheForAMillisecond() {
        let clock = ManualClock()
        let reads = Setting(0)
        let speeds = LineSpeeds(tracking: false, clock: clock.read) {
            reads.value += 1
            return LineSpeeds.Snapshot(host: 115_200, esp: 115_200)
        }
        #expect(speeds.current() == nil)
        #expect(reads.value == 0)
        speeds.tracking = true
        #expect(speeds.current() == LineSpeeds.Snapshot(host: 115_200, esp: 115_200))
        #expect(speeds.current() != nil)
        #expect(reads.value == 1)
        clock.now += 1_000_000
        _ = speeds.current()
        #expect(reads.value == 2)
        speeds.invalidate()
        _ = speeds.current()
        #expect(reads.value == 3)
    }

    @Test func bytesStillCrossingKeepTheSpeedTheyWereSentAt() {
        // The ESP switched to 921600 after writing an acknowledgement the host (still at 115200)
        // must read: while the lane sends those bytes at 115200 they are not garbled.
        let speeds = LineSpeeds(
            tracking: true, clock: { 0 }, read: { LineSpeeds.Snapshot(host: 115_200, esp: 921_600) })
        #expect(speeds.ends(.espToHost)! == (sender: 921_600, receiver: 115_200))
        speeds.noteSending(115_200, .espToHost)
        #expect(speeds.ends(.espToHost)! == (sender: 115_200, receiver: 115_200))
        #expect(speeds.ends(.hostToESP)! == (sender: 115_200, receiver: 921_600))
        speeds.tracking = false
        #expect(speeds.ends(.espToHost) == nil)
    }
}

@Suite struct LineCutTests {
    @Test func losesEverythingWhileCutAndCountsItPerDirection() {
        let clock = ManualClock()
        let cut = LineCut(clock: clock.read)
        var chunk: [UInt8] = [1, 2, 3]
        cut.process(&chunk, direction: .hostToESP)
        #expect(chunk == [1, 2, 3])

        cut.cut(seconds: 1.5)
        #expect(cut.remainingNanoseconds == 1_500_000_000)
        cut.process(&chunk, direction: .hostToESP)
        #expect(chunk.isEmpty)
        var other: [UInt8] = [9, 9]
        cut.process(&other, direction: .espToHost)
        #expect(other.isEmpty)
        #expect(cut.lost(.hostToESP) == 3)
        #expect(cut.lost(.espToHost) == 2)

        clock.now += 1_500_000_000
        chunk = [4]
        cut.process(&chunk, direction: .hostToESP)
        #expect(chunk == [4])
        #expect(cut.remainingNanoseconds == 0)
    }

    @Test func cutZeroEndsACut() {
        let clock = ManualClock()
        let cut = LineCut(clock: clock.read)
        cut.cut(seconds: 60)
        cut.cut(seconds: 0)
        var chunk: [UInt8] = [1]
        cut.process(&chunk, direction: .espToHost)
        #expect(chunk == [1])
    }
}

@Suite struct FrozenReceiverFIFOTests {
    @Test func keepsOnlyWhatTheFIFOHoldsWhileFrozen() {
        let frozen = Setting(false)
        let unread = Setting(0)
        let fifo = FrozenReceiverFIFO(isFrozen: { frozen.value }, unread: { unread.value })
        var chunk = [UInt8](repeating: 7, count: 500)
        fifo.process(&chunk, direction: .hostToESP)
        #expect(chunk.count == 500)  // running: untouched

        frozen.value = true
        unread.value = 28  // the firmware had not read these when it froze
        chunk = [UInt8](repeating: 7, count: 60)
        fifo.process(&chunk, direction: .hostToESP)
        #expect(chunk.count == 60)
        chunk = [UInt8](repeating: 7, count: 60)
        fifo.process(&chunk, direction: .hostToESP)
        #expect(chunk.count == 40)  // 28 + 60 + 40 = 128
        chunk = [UInt8](repeating: 7, count: 10)
        fifo.process(&chunk, direction: .hostToESP)
        #expect(chunk.isEmpty)
        #expect(fifo.dropped == 30)

        frozen.value = false
        chunk = [UInt8](repeating: 7, count: 300)
        fifo.process(&chunk, direction: .hostToESP)
        #expect(chunk.count == 300)
    }
}

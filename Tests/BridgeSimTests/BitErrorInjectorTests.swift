import Testing

@testable import BridgeSim

@Suite struct BitErrorInjectorTests {
    private func popcount(_ bytes: [UInt8]) -> Int {
        bytes.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    /// Runs `bits` zero bits through a model at `rate` in chunks of varying size; returns the
    /// bits flipped per bit position within the byte.
    private func flips(rate: Double, bits: Int, seed: UInt64) -> (total: Int, perPosition: [Int]) {
        var model = BitErrorModel(rate: rate, random: SeededRandom(seed: seed))
        var chunkSizes = SeededRandom(seed: seed &+ 1)
        var perPosition = [Int](repeating: 0, count: 8)
        var total = 0
        var remaining = bits / 8
        while remaining > 0 {
            var chunk = [UInt8](repeating: 0, count: min(remaining, Int.random(in: 1...8192, using: &chunkSizes)))
            let flipped = model.apply(to: &chunk)
            #expect(flipped == popcount(chunk), "every flip lands on a distinct bit and is counted")
            total += flipped
            for byte in chunk where byte != 0 {
                for position in 0..<8 where byte & (1 << position) != 0 { perPosition[position] += 1 }
            }
            remaining -= chunk.count
        }
        #expect(UInt64(total) == model.flippedBits)
        return (total, perPosition)
    }

    @Test(arguments: [(1e-3, 10_000_000), (1e-4, 40_000_000), (0.05, 1_000_000)])
    func flipsBitsAtTheGivenRate(rate: Double, bits: Int) {
        let (total, perPosition) = flips(rate: rate, bits: bits, seed: 7)
        // Binomial: mean n·p, standard deviation √(n·p·(1−p)); five of them is a 1-in-a-million
        // false alarm.
        let mean = Double(bits) * rate
        let deviation = (mean * (1 - rate)).squareRoot()
        #expect(abs(Double(total) - mean) < 5 * deviation, "\(total) flips, expected \(mean) ± \(deviation)")
        // Every bit of the byte is hit alike (the gap does not favour a position).
        for count in perPosition {
            let positionMean = mean / 8
            #expect(abs(Double(count) - positionMean) < 5 * positionMean.squareRoot() + 1)
        }
    }

    @Test func theSameSeedFlipsTheSameBitsHoweverTheStreamIsChunked() {
        let length = 200_000
        var whole = [UInt8](repeating: 0, count: length)
        var first = BitErrorModel(rate: 1e-3, random: SeededRandom(seed: 1234))
        first.apply(to: &whole)

        var second = BitErrorModel(rate: 1e-3, random: SeededRandom(seed: 1234))
        var pieces: [UInt8] = []
        var offset = 0
        var sizes = SeededRandom(seed: 99)
        while offset < length {
            var chunk = [UInt8](repeating: 0, count: min(length - offset, Int.random(in: 1...700, using: &sizes)))
            second.apply(to: &chunk)
            pieces += chunk
            offset += chunk.count
        }
        #expect(pieces == whole)
        #expect(popcount(whole) > 0)

        var other = BitErrorModel(rate: 1e-3, random: SeededRandom(seed: 1235))
        var different = [UInt8](repeating: 0, count: length)
        other.apply(to: &different)
        #expect(different != whole)
    }

    @Test func rateZeroFlipsNothingAndRateOneFlipsEverything() {
        var none = BitErrorModel(rate: 0, random: SeededRandom(seed: 1))
        var bytes = [UInt8](repeating: 0x5A, count: 10_000)
        #expect(none.apply(to: &bytes) == 0)
        #expect(bytes.allSatisfy { $0 == 0x5A })

        var all = BitErrorModel(rate: 1, random: SeededRandom(seed: 1))
        #expect(all.apply(to: &bytes) == 80_000)
        #expect(bytes.allSatisfy { $0 == 0xA5 })
    }

    @Test func theRateCanChangeWhileRunning() {
        let injector = BitErrorInjector(rate: 0, random: SeededRandom(seed: 3))
        var chunk = [UInt8](repeating: 0, count: 100_000)
        injector.process(&chunk, direction: .hostToESP)
        #expect(injector.flippedBits == 0)
        injector.rate = 1e-2
        #expect(injector.rate == 1e-2)
        injector.process(&chunk, direction: .hostToESP)
        #expect(injector.flippedBits > 6000 && injector.flippedBits < 10_000)
        #expect(UInt64(popcount(chunk)) == injector.flippedBits)
    }

    @Test func streamsOfOneSeedAreIndependent() {
        var a = SeededRandom(seed: 5, stream: 1)
        var b = SeededRandom(seed: 5, stream: 2)
        var c = SeededRandom(seed: 5, stream: 1)
        let first = (0..<8).map { _ in a.next() }
        #expect(first != (0..<8).map { _ in b.next() })
        #expect(first == (0..<8).map { _ in c.next() })
    }
}

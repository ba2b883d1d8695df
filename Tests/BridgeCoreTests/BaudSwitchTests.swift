import Testing

@testable import BridgeCore

@Suite struct BaudSwitchTests {
    static let rates = [9600, 115_200, 230_400, 460_800, 500_000, 576_000, 921_600, 1_000_000, 2_000_000]

    @Test(
        "the highest supported rate at most both maxima, above the start rate",
        arguments: [
            (921_600, 921_600, 921_600), (2_000_000, 921_600, 921_600), (921_600, 2_000_000, 921_600),
            (600_000, 921_600, 576_000), (1_000_000, 1_500_000, 1_000_000), (230_400, 921_600, 230_400),
        ])
    func choosesTheHighestCommonRate(host: Int, esp: Int, expected: Int) {
        #expect(
            BaudSwitch.targetRate(startRate: 115_200, hostMaximum: host, peerMaximum: esp, supportedRates: Self.rates)
                == expected)
    }

    @Test("no switch without --max-baud, without the ESP's max_baud, or with nothing faster than the start rate")
    func noSwitch() {
        #expect(
            BaudSwitch.targetRate(
                startRate: 115_200, hostMaximum: nil, peerMaximum: 921_600, supportedRates: Self.rates)
                == nil)
        #expect(
            BaudSwitch.targetRate(startRate: 115_200, hostMaximum: 921_600, peerMaximum: 0, supportedRates: Self.rates)
                == nil)
        #expect(
            BaudSwitch.targetRate(
                startRate: 115_200, hostMaximum: 115_200, peerMaximum: 921_600, supportedRates: Self.rates)
                == nil)
        #expect(
            BaudSwitch.targetRate(
                startRate: 115_200, hostMaximum: 921_600, peerMaximum: 200_000, supportedRates: Self.rates)
                == nil)
    }
}

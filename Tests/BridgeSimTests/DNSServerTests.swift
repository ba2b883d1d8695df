import Testing

@testable import BridgeSim

@Suite struct DNSServerTests {
    @Test func firstIPv4NameserverOfResolvConf() {
        let text = """
            # generated
            search example.net
            nameserver fe80::1%eth0
            nameserver\t10.255.255.53
            nameserver 192.168.1.1
            """
        #expect(SimulatedBoardConfiguration.firstIPv4Nameserver(in: text) == "10.255.255.53")
        #expect(SimulatedBoardConfiguration.firstIPv4Nameserver(in: "nameserver ::1\nnameserver 1.2.3.256\n") == nil)
        #expect(SimulatedBoardConfiguration.firstIPv4Nameserver(in: "") == nil)
    }
}

import Testing

@testable import BridgeCore

@Suite struct NTPServerTests {
    @Test(
        arguments: [
            ("pool.ntp.org", "pool.ntp.org", 123),
            ("pool.ntp.org:4123", "pool.ntp.org", 4123),
            ("127.0.0.1:65535", "127.0.0.1", 65535),
            ("ntp_1.my-lan", "ntp_1.my-lan", 123),
            ("router", "router", 123),
            ("2.debian.pool.ntp.org:1", "2.debian.pool.ntp.org", 1),
        ] as [(String, String, Int)]
    )
    func parses(text: String, host: String, port: Int) throws {
        let server = try BridgeConfiguration.NTPServer(parsing: text)
        #expect(server == BridgeConfiguration.NTPServer(host: host, port: port))
        #expect(server.description == "\(host):\(port)")
    }

    @Test(
        arguments: [
            ("", "is not a host name"),
            ("a..b", "is not a host name"),
            (".example", "is not a host name"),
            ("bad name", "is not a host name"),
            ("é.example", "is not a host name"),
            (String(repeating: "a", count: 64) + ".example", "is not a host name"),
            (String(repeating: "a.", count: 127) + "a", "is not a host name"),
            ("ntp:0", "port '0' is not a number from 1 to 65535"),
            ("ntp:65536", "port '65536' is not a number from 1 to 65535"),
            ("ntp:", "port '' is not a number from 1 to 65535"),
            ("ntp:x", "port 'x' is not a number from 1 to 65535"),
            ("::1", "IPv6"),
            ("1.2.3", "is not an IPv4 address"),
            ("1.2.3.256", "is not an IPv4 address"),
            ("1.2.3.4.5", "is not an IPv4 address"),
        ] as [(String, String)]
    )
    func refuses(text: String, why: String) {
        let error = #expect(throws: BridgeConfiguration.NTPServerError.self) {
            try BridgeConfiguration.NTPServer(parsing: text)
        }
        #expect(error?.description.contains(why) == true, "\(String(describing: error))")
    }
}

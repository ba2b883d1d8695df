#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Maps a numeric baud rate to the termios speed constant.
enum TermiosSpeed {
    static let table: [(Int, speed_t)] = {
        var rates: [(Int, speed_t)] = [
            (9600, speed_t(B9600)), (19200, speed_t(B19200)), (38400, speed_t(B38400)),
            (57600, speed_t(B57600)), (115200, speed_t(B115200)), (230400, speed_t(B230400)),
        ]
        #if os(Linux)
            rates += [
                (460800, speed_t(B460800)), (500000, speed_t(B500000)), (576000, speed_t(B576000)),
                (921600, speed_t(B921600)), (1_000_000, speed_t(B1000000)), (1_152_000, speed_t(B1152000)),
                (1_500_000, speed_t(B1500000)), (2_000_000, speed_t(B2000000)),
            ]
        #endif
        return rates
    }()

    static var supportedRates: [Int] { table.map(\.0) }

    static func constant(for baud: Int) -> speed_t? {
        table.first { $0.0 == baud }?.1
    }
}

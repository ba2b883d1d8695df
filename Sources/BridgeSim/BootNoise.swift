/// Why the simulated ESP8266 (re)booted. The raw values are the ESP8266 SDK's `rst_info.reason`,
/// which MicroPython's `machine.reset_cause()` reports and the firmware reads from
/// `BRIDGE_RESET_CAUSE`.
public enum ResetCause: Int, Sendable, CustomStringConvertible {
    /// First start: power applied.
    case powerOn = 0
    /// The firmware died (an uncaught exception reboots a real ESP).
    case exception = 2
    /// The host pulsed the RST pin.
    case external = 6

    public var description: String {
        switch self {
        case .powerOn: return "power-on"
        case .exception: return "exception"
        case .external: return "external reset"
        }
    }

    /// The cause code the ROM bootloader prints in its boot log ("rst cause:N"), which uses a
    /// different numbering than the SDK.
    var romCode: Int {
        switch self {
        case .powerOn: return 1
        case .exception: return 4
        case .external: return 2
        }
    }
}

/// What a real ESP8266 puts on its TX line while it boots, as the host's UART sees it.
///
/// The ROM bootloader logs at 74880 baud; read at 115200 most of that is garbage (including
/// `0x00` bytes, which matter because the link protocol uses `0x00` as its frame delimiter), with
/// fragments that happen to survive. MicroPython then prints some text of its own. The link's
/// framing must skip all of it, so the simulator produces a different 100–400 bytes every time.
public enum BootNoise {
    /// A fresh burst of boot noise for a boot with `cause`.
    public static func generate<R: RandomNumberGenerator>(cause: ResetCause, using random: inout R) -> [UInt8] {
        var bytes: [UInt8] = []
        func garbage(_ range: ClosedRange<Int>) {
            for _ in 0..<Int.random(in: range, using: &random) {
                // Mis-clocked bytes skew towards runs of set or cleared bits; zeros are common.
                switch Int.random(in: 0..<10, using: &random) {
                case 0, 1: bytes.append(0x00)
                case 2: bytes.append(0xFF)
                default: bytes.append(UInt8.random(in: 0...255, using: &random))
                }
            }
        }
        func fragment(_ text: String) {
            // Only part of a line survives the wrong baud rate, sometimes all of it.
            let utf8 = Array(text.utf8)
            let start = Int.random(in: 0...(utf8.count / 3), using: &random)
            let end = Int.random(in: (utf8.count * 2 / 3)...utf8.count, using: &random)
            bytes.append(contentsOf: utf8[start..<end])
        }

        garbage(8...60)
        fragment(" ets Jan  8 2013,rst cause:\(cause.romCode), boot mode:(3,6)\r\n\r\n")
        garbage(10...60)
        fragment("load 0x40100000, len 31024, room 16 \r\ntail 0\r\nchksum 0xb4\r\n")
        garbage(5...40)
        fragment("csum 0xb4\r\nv2843a5ac\r\n~ld\r\n")
        garbage(4...30)
        if Bool.random(using: &random) {
            bytes.append(
                contentsOf: Array(
                    "\r\nMicroPython v1.24.1 on 2024-11-29; ESP module with ESP8266\r\nType \"help()\" for more information.\r\n"
                        .utf8))
        } else {
            bytes.append(
                contentsOf: Array(
                    "\r\nWebREPL daemon started on ws://192.168.4.1:8266\r\nStarted webrepl in normal mode\r\n".utf8))
        }
        // Keep within the documented 100–400 bytes whatever the dice said.
        while bytes.count < 100 { bytes.append(UInt8.random(in: 0...255, using: &random)) }
        if bytes.count > 400 { bytes.removeFirst(bytes.count - 400) }
        return bytes
    }

    /// A fresh burst of boot noise, using the system's random number generator.
    public static func generate(cause: ResetCause) -> [UInt8] {
        var random = SystemRandomNumberGenerator()
        return generate(cause: cause, using: &random)
    }
}
